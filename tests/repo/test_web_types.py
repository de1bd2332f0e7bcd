"""The web app's API types are generated from the gateway's OpenAPI document: schema.ts is
exactly what scripts/gen-web-types.sh (openapi-typescript) makes of the current document,
and types.ts only names its shapes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "web" / "src" / "api"


def test_schema_ts_matches_the_current_openapi_document(tmp_path: Path) -> None:
    fresh = tmp_path / "schema.ts"
    subprocess.run(
        ["scripts/gen-web-types.sh", str(fresh)], cwd=ROOT, check=True, capture_output=True
    )
    committed = (API / "schema.ts").read_text()
    assert fresh.read_text() == committed, "web/src/api/schema.ts is stale: run `make gen`"


def test_types_ts_writes_no_shape_by_hand() -> None:
    source = (API / "types.ts").read_text()
    assert "interface" not in source
    exported = re.findall(r"^export type \w+ =([^;]+);", source, flags=re.MULTILINE)
    assert exported, "types.ts names the generated shapes"
    for definition in exported:
        names = [part.strip(" |\n") for part in definition.split("|") if part.strip(" |\n")]
        assert all(name.startswith("Schemas[") for name in names), definition
