#!/usr/bin/env bash
# Generates libs/proto/src from proto/ (python, .pyi and gRPC stubs), and
# tollgate/descriptors.binpb: the FileDescriptorSet with its comments (SourceCodeInfo), which
# the gateway turns into the OpenAPI document's descriptions.
# Usage: scripts/gen.sh [OUT_DIR]   (default libs/proto/src; the drift test passes a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-libs/proto/src}"
py="${PYTHON:-.venv/bin/python}"
googleapis="$("$py" -c 'import google.api.annotations_pb2 as m, pathlib; print(pathlib.Path(m.__file__).parent.parent.parent)')"
mapfile -t protos < <(cd proto && find tollgate -name '*.proto' | sort)
if [ "$out" = "libs/proto/src" ]; then rm -rf libs/proto/src/tollgate; fi
mkdir -p "$out/tollgate"
export PATH="$(dirname "$py"):$PATH"
"$py" -m grpc_tools.protoc -I proto -I "$googleapis" \
  --python_out="$out" --mypy_out="$out" --grpc_python_out="$out" --mypy_grpc_out="$out" \
  --include_source_info --descriptor_set_out="$out/tollgate/descriptors.binpb" \
  "${protos[@]/#/proto/}"
