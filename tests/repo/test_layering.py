"""The layering contracts in pyproject.toml ([tool.importlinter]) hold for the real tree, and
each one fails when a module that breaks it is added: `make lint` runs the same `lint-imports`,
so a violating import fails `make test`.

Each case copies the source trees to a temporary directory (first on PYTHONPATH, so it shadows
the editable installs), adds one offending module, and expects exactly its contract broken.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = {
    "auth_svc": ROOT / "auth-svc" / "src" / "auth_svc",
    "billing_svc": ROOT / "billing-svc" / "src" / "billing_svc",
    "email_svc": ROOT / "email-svc" / "src" / "email_svc",
    "gateway": ROOT / "gateway" / "src" / "gateway",
    "tollgate_kit": ROOT / "libs" / "kit" / "src" / "tollgate_kit",
    "tollgate_devstack": ROOT / "libs" / "devstack" / "src" / "tollgate_devstack",
}
VERDICT = re.compile(r"^(?P<name>.+) (?P<verdict>KEPT|BROKEN)$", re.MULTILINE)

# contract id -> (module added, its one import line)
VIOLATIONS = {
    "pure-domain": ("billing_svc/domain/_offender.py", "import grpc"),
    "usecases-no-infra": ("email_svc/usecases/_offender.py", "import redis.asyncio"),
    "services-independent": ("auth_svc/store/_offender.py", "import billing_svc.config"),
    "kit-below-services": ("tollgate_kit/_offender.py", "import gateway.config"),
    "gateway-no-database": ("gateway/_offender.py", "import asyncpg"),
    "auth-layers": ("auth_svc/usecases/_offender.py", "import auth_svc.store.users"),
    "billing-layers": ("billing_svc/usecases/_offender.py", "import billing_svc.api.servicer"),
    "email-layers": ("email_svc/store/_offender.py", "import email_svc.api.servicer"),
    "api-through-usecases": ("auth_svc/api/_offender.py", "import auth_svc.store.sessions"),
}


def contract_names() -> dict[str, str]:
    """Contract id -> the name lint-imports prints, read from pyproject.toml."""
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    return {contract["id"]: contract["name"] for contract in config["contracts"]}


def run_lint_imports(source_root: Path | None) -> tuple[int, dict[str, str]]:
    env = dict(os.environ)
    if source_root is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(source_root), *filter(None, [env.get("PYTHONPATH")])]
        )
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(PYPROJECT)],
        cwd=source_root or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    verdicts = {m["name"]: m["verdict"] for m in VERDICT.finditer(done.stdout)}
    return done.returncode, verdicts


def test_every_contract_has_a_violation_case() -> None:
    assert set(contract_names()) == set(VIOLATIONS)


def test_the_tree_keeps_every_contract() -> None:
    code, verdicts = run_lint_imports(None)
    assert verdicts == dict.fromkeys(contract_names().values(), "KEPT")
    assert code == 0


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_a_violating_import_breaks_its_contract(contract: str, tmp_path: Path) -> None:
    for name, source in PACKAGES.items():
        shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    module, line = VIOLATIONS[contract]
    (tmp_path / module).write_text(f'"""Breaks {contract} on purpose."""\n\n{line}\n')

    code, verdicts = run_lint_imports(tmp_path)

    names = contract_names()
    assert code != 0
    assert verdicts == {
        name: "BROKEN" if key == contract else "KEPT" for key, name in names.items()
    }
