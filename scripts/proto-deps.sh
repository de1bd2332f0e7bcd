#!/usr/bin/env bash
# Copies the google/api protos that our contracts import (http annotations, field_behavior)
# from the installed googleapis-common-protos package into the git-ignored .build/third_party (for buf).
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-.venv/bin/python}"
src="$("$py" -c 'import google.api.annotations_pb2 as m, pathlib; print(pathlib.Path(m.__file__).parent)')"
mkdir -p .build/third_party/google/api
cp "$src/annotations.proto" "$src/http.proto" "$src/field_behavior.proto" .build/third_party/google/api/
