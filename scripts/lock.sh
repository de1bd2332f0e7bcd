#!/usr/bin/env bash
# Re-pins every third-party dependency of the workspace into requirements.lock (hashed).
# Workspace members are left out: they are installed editable from this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
members=(tollgate-proto tollgate-kit tollgate-devstack tollgate-auth-svc tollgate-billing-svc tollgate-email-svc tollgate-gateway)
args=()
for m in "${members[@]}"; do args+=(--no-emit-package "$m"); done
uv pip compile pyproject.toml --group dev --generate-hashes --python-version 3.11 \
  --custom-compile-command "make lock" "${args[@]}" -o requirements.lock
