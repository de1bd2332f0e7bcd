#!/usr/bin/env bash
# Generates web/src/api/schema.ts, the web app's TypeScript types of the REST contract, from
# the gateway's OpenAPI document (the one it serves at /openapi.json) with openapi-typescript
# (root package.json). `make gen` runs it after scripts/gen.sh.
# Usage: scripts/gen-web-types.sh [OUT_FILE]   (the drift test passes a temp file)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-web/src/api/schema.ts}"
py="${PYTHON:-.venv/bin/python}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -c 'import sys, orjson
from gateway.bootstrap import default_openapi_document
sys.stdout.buffer.write(orjson.dumps(default_openapi_document(), option=orjson.OPT_INDENT_2))' \
  >"$tmp/openapi.json"
node_modules/.bin/openapi-typescript "$tmp/openapi.json" --output "$out" >/dev/null
