"""libs/proto is exactly what `make gen` produces from proto/."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "libs" / "proto" / "src"


def _files(base: Path) -> set[str]:
    return {
        str(p.relative_to(base))
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_generated_code_matches_the_protos(tmp_path: Path) -> None:
    subprocess.run(["scripts/gen.sh", str(tmp_path)], cwd=ROOT, check=True, capture_output=True)
    fresh, committed = _files(tmp_path), _files(GENERATED)
    assert fresh == committed, "generated file set drifted: run `make gen`"
    drifted = [
        name
        for name in sorted(fresh)
        if not filecmp.cmp(tmp_path / name, GENERATED / name, shallow=False)
    ]
    assert drifted == [], f"stale generated code (run `make gen`): {drifted}"


# Called only by other services (auth-svc's sagas): no HTTP binding, so the gateway can never
# expose them.
INTERNAL_SERVICES = {"tollgate.billing.v1.WalletLifecycleService"}


def test_every_public_rpc_has_an_http_binding_and_no_internal_one_has() -> None:
    from google.api import annotations_pb2

    from tollgate.auth.v1 import auth_pb2
    from tollgate.billing.v1 import billing_pb2

    for file in (auth_pb2.DESCRIPTOR, billing_pb2.DESCRIPTOR):
        for service in file.services_by_name.values():
            internal = service.full_name in INTERNAL_SERVICES
            for method in service.methods:
                rule = method.GetOptions().Extensions[annotations_pb2.http]
                if internal:
                    assert not rule.WhichOneof("pattern"), f"{method.full_name} is internal"
                else:
                    assert rule.WhichOneof("pattern"), f"{method.full_name} has no http binding"
