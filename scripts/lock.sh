#!/usr/bin/env bash
# Re-pins every third-party dependency, hashed, from the pyproject files alone (`make lock`):
#   requirements.lock            the development environment: the whole workspace and its dev
#                                group (tests, linters, deploy validators); `make install` syncs it
#   <image>/requirements.lock    one runtime lock per image (auth-svc, billing-svc, email-svc,
#                                gateway): only what that package and its kit extras import
#   deploy/docker/build.lock     the build backend (hatchling) that turns our packages into wheels
# The runtime and build locks are resolved under the versions of the development lock, so
# an image ships exactly the versions the tests ran against.
# Workspace members are left out: the dev venv installs them editable, images as wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
members=(tollgate-proto tollgate-kit tollgate-devstack tollgate-auth-svc tollgate-billing-svc tollgate-email-svc tollgate-gateway)
images=(auth-svc billing-svc email-svc gateway)
args=(--quiet --generate-hashes --python-version 3.11 --custom-compile-command "make lock")
for m in "${members[@]}"; do args+=(--no-emit-package "$m"); done

uv pip compile pyproject.toml --group dev "${args[@]}" -o requirements.lock

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# name==version of every pin (no hashes): the constraints of the other locks.
grep -E '^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^]]*\])?==' requirements.lock | sed -E 's/ *\\$//' >"$tmp/dev.txt"

for image in "${images[@]}"; do
  uv pip compile "$image/pyproject.toml" -c "$tmp/dev.txt" "${args[@]}" -o "$image/requirements.lock"
done

# The build backend every member names in [build-system] requires (read from stdin, so no
# temporary path ends up in the lock's comments).
sed -n 's/^requires = \["\([^"]*\)"\]$/\1/p' libs/*/pyproject.toml "${images[@]/%//pyproject.toml}" | sort -u |
  uv pip compile - -c "$tmp/dev.txt" "${args[@]}" -o deploy/docker/build.lock

# uv names the temporary constraints file in its "via" comments: name the lock it came from.
for lock in "${images[@]/%//requirements.lock}" deploy/docker/build.lock; do
  sed -i -E "s|-c $tmp/dev.txt|-c requirements.lock|" "$lock"
done
