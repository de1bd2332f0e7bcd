"""buf guards the schema: lint, format and breaking-change detection run offline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / "node_modules" / ".bin" / "buf"


def _workspace_copy(tmp_path: Path) -> Path:
    subprocess.run(["scripts/proto-deps.sh"], cwd=ROOT, check=True)
    work = tmp_path / "ws"
    shutil.copytree(ROOT / "proto", work / "proto")
    shutil.copytree(ROOT / ".build" / "third_party", work / ".build" / "third_party")
    shutil.copy(ROOT / "buf.yaml", work / "buf.yaml")
    return work


def _buf(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUF), *args], cwd=work, capture_output=True, text=True)


def test_contracts_pass_lint_and_format(tmp_path: Path) -> None:
    work = _workspace_copy(tmp_path)
    lint = _buf(work, "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _buf(work, "format", "--exit-code")
    assert fmt.returncode == 0, fmt.stdout


def test_lint_fails_on_a_badly_named_rpc(tmp_path: Path) -> None:
    work = _workspace_copy(tmp_path)
    proto = work / "proto" / "tollgate" / "billing" / "v1" / "billing.proto"
    proto.write_text(proto.read_text().replace("rpc GetWallet(", "rpc get_wallet("))
    lint = _buf(work, "lint")
    assert lint.returncode != 0
    assert "get_wallet" in lint.stdout


def test_breaking_check_catches_a_removed_field(tmp_path: Path) -> None:
    before = _workspace_copy(tmp_path / "before")
    after = _workspace_copy(tmp_path / "after")
    proto = after / "proto" / "tollgate" / "billing" / "v1" / "billing.proto"
    proto.write_text(proto.read_text().replace("  string description = 2;\n", "", 1))
    unchanged = _buf(before, "breaking", "--against", str(before))
    assert unchanged.returncode == 0, unchanged.stdout
    broken = _buf(after, "breaking", "--against", str(before))
    assert broken.returncode != 0
    assert "description" in broken.stdout
