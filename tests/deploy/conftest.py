"""Shared fixtures for the checks of deploy/, the Dockerfiles and the CI workflow.

External validators (promtool, hadolint, actionlint, docker compose, Helm through
helm-python-sdk) are required: a missing one fails the test instead of skipping it, so CI
cannot go green without having run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def _find_tool(name: str, hint: str) -> str:
    venv_bin = Path(sys.executable).parent
    candidate = venv_bin / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed ({hint}); deploy checks need it", pytrace=False)
    return found


@pytest.fixture(scope="session")
def tool() -> Callable[[str, str], str]:
    """``tool(name, how_to_install)``: the executable from the test venv's bin, else PATH."""
    return _find_tool


@pytest.fixture(scope="session")
def run() -> Callable[..., subprocess.CompletedProcess[str]]:
    def _run(
        *args: str, cwd: Path = REPO, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )

    return _run


@pytest.fixture(scope="session")
def image_builds() -> dict[str, dict[str, Any]]:
    """service -> {"dockerfile": path from the repo root, "args": build args}, as
    deploy/docker-compose.yml builds each image (the CI matrix must build them the same)."""
    compose = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())
    builds = {}
    for name in ("auth-svc", "billing-svc", "email-svc", "gateway"):
        build = compose["services"][name]["build"]
        assert build["context"] == "..", name
        args = {key: str(value) for key, value in build.get("args", {}).items()}
        builds[name] = {"dockerfile": build["dockerfile"], "args": args}
    return builds
