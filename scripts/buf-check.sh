#!/usr/bin/env bash
# buf lint, buf format and buf breaking against the main branch, all offline.
# buf cannot read the git-ignored google/api protos from a git ref, so the main branch's
# proto/ is exported into .build/against (with the same third-party files) and compared there:
# the same check as `buf breaking --against '.git#branch=main'`.
set -euo pipefail
cd "$(dirname "$0")/.."
buf=node_modules/.bin/buf
scripts/proto-deps.sh
$buf lint
$buf format --exit-code --diff
# The first base that exists: BUF_AGAINST_REF (CI: the PR's base or the commit a push
# replaced, which a force-push or a new branch may not have), else main, else origin/main.
base=""
for candidate in "${BUF_AGAINST_REF:-}" main origin/main; do
  if [ -n "$candidate" ] && git rev-parse --verify --quiet "$candidate:proto" >/dev/null; then
    base="$candidate"
    break
  fi
done
if [ -n "$base" ]; then
  rm -rf .build/against && mkdir -p .build/against/.build
  git archive "$base" proto buf.yaml | tar -x -C .build/against
  cp -r .build/third_party .build/against/.build/
  $buf breaking --against .build/against
  echo "buf: lint, format and breaking (against $base) passed"
else
  echo "buf: lint and format passed; no base with proto/ to compare against yet (BUF_AGAINST_REF=${BUF_AGAINST_REF:-unset})"
fi
