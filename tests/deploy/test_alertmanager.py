"""Alertmanager: both configs pass `amtool check-config` (Debian prometheus-alertmanager), a
broken one does not, every alert routes to a person by mail, and Prometheus sends to it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
AM = REPO / "deploy" / "alertmanager"
CONFIGS = sorted(AM.glob("alertmanager*.yml"))
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def amtool(tool: Callable[[str, str], str]) -> str:
    return tool("amtool", "apt-get install --no-install-recommends prometheus-alertmanager")


def test_there_is_a_compose_and_a_production_config() -> None:
    assert [p.name for p in CONFIGS] == ["alertmanager.production.yml", "alertmanager.yml"]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_amtool_check_config(config: Path, amtool: str, run: Run) -> None:
    result = run(amtool, "check-config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # A route to a receiver nobody defined.
        (lambda c: c["route"].update(receiver="nobody"), "undefined receiver"),
        # An email receiver without an SMTP server to send through.
        (lambda c: c["global"].pop("smtp_smarthost"), "smarthost"),
        (lambda c: c["route"].update(group_wait="soon"), "not a valid duration"),
    ],
    ids=["undefined-receiver", "no-smarthost", "bad-duration"],
)
def test_amtool_rejects_a_broken_config(
    change: Callable[[dict[str, object]], object],
    expected: str,
    amtool: str,
    run: Run,
    tmp_path: Path,
) -> None:
    config = yaml.safe_load((AM / "alertmanager.yml").read_text())
    change(config)
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(yaml.safe_dump(config))
    result = run(amtool, "check-config", str(broken))
    assert result.returncode != 0
    assert expected in (result.stdout + result.stderr).lower()


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
@pytest.mark.parametrize(
    "labels",
    [
        ["alertname=BillingChargeErrorRateHigh", "severity=critical", "job=billing-svc"],
        ["alertname=GatewayLatencyP99High", "severity=warning", "job=gateway"],
        ["alertname=SomethingNew"],
    ],
    ids=["critical", "warning", "unlabelled"],
)
def test_every_alert_is_mailed_to_the_on_call(
    config: Path, labels: list[str], amtool: str, run: Run
) -> None:
    result = run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={config}",
        "--verify.receivers=oncall-email",
        *labels,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    parsed = yaml.safe_load(config.read_text())
    receivers = {r["name"]: r for r in parsed["receivers"]}
    assert receivers["oncall-email"]["email_configs"][0]["to"]
    assert receivers["oncall-email"]["email_configs"][0]["send_resolved"] is True


def test_the_production_config_keeps_its_password_out_of_the_file() -> None:
    config = yaml.safe_load((AM / "alertmanager.production.yml").read_text())
    assert "smtp_auth_password" not in config["global"]
    assert config["global"]["smtp_auth_password_file"].startswith("/run/secrets/")
    assert config["global"]["smtp_require_tls"] is True
    compose = yaml.safe_load((AM / "alertmanager.yml").read_text())
    assert config["route"] == compose["route"]
    assert config["inhibit_rules"] == compose["inhibit_rules"]


def test_prometheus_sends_alerts_to_alertmanager() -> None:
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]


def test_grafana_shows_alertmanager() -> None:
    datasources = yaml.safe_load(
        (
            REPO / "deploy" / "grafana" / "provisioning" / "datasources" / "datasources.yml"
        ).read_text()
    )["datasources"]
    (alertmanager,) = [d for d in datasources if d["type"] == "alertmanager"]
    assert alertmanager["url"] == "http://alertmanager:9093"
    assert alertmanager["jsonData"]["implementation"] == "prometheus"
