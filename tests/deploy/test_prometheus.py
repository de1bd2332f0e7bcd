"""Prometheus config, recording rules and alerts: promtool checks and unit tests."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

PROM = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULE_FILES = sorted((PROM / "rules").glob("*.yml"))
TEST_FILES = sorted((PROM / "tests").glob("*.yml"))
SERVICES = ("auth-svc", "billing-svc", "email-svc", "gateway")
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def promtool(tool: Callable[[str, str], str]) -> str:
    return tool("promtool", "apt-get install --no-install-recommends prometheus")


def _alerts() -> list[dict[str, Any]]:
    alerts = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            alerts += [rule for rule in group["rules"] if "alert" in rule]
    return alerts


def test_promtool_check_config(promtool: str, run: Run) -> None:
    result = run(promtool, "check", "config", "prometheus.yml", cwd=PROM)
    assert result.returncode == 0, result.stdout + result.stderr
    # The config loads the rule files through a relative glob: they must really be found.
    assert f"{len(RULE_FILES)} rule files found" in result.stdout


def test_promtool_check_rules(promtool: str, run: Run) -> None:
    assert RULE_FILES
    result = run(promtool, "check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests_pass(promtool: str, run: Run) -> None:
    assert TEST_FILES
    result = run(promtool, "test", "rules", *map(str, TEST_FILES), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_tests_can_fail(promtool: str, run: Run, tmp_path: Path) -> None:
    """A wrong expectation must fail promtool: the unit tests are not vacuous."""
    source = (PROM / "tests" / "billing.yml").read_text()
    broken = source.replace("value: 0.06", "value: 0.07").replace("../rules/", f"{PROM / 'rules'}/")
    assert broken != source
    (tmp_path / "broken.yml").write_text(broken)
    result = run(promtool, "test", "rules", str(tmp_path / "broken.yml"))
    assert result.returncode != 0


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {alert["alert"] for alert in _alerts()}
    assert names - fired == set(), "alerts never shown to fire"
    assert names - quiet == set(), "alerts never shown to stay quiet"


@pytest.mark.parametrize("alert", _alerts(), ids=lambda a: a["alert"])
def test_alert_has_annotations_and_severity(alert: dict[str, Any]) -> None:
    annotations = alert.get("annotations", {})
    assert annotations.get("summary", "").strip()
    assert annotations.get("description", "").strip()
    assert alert.get("labels", {}).get("severity") in {"critical", "warning", "info"}
    assert "for" in alert


def test_required_alerts_exist() -> None:
    names = {alert["alert"] for alert in _alerts()}
    assert {
        "BillingChargeErrorRateHigh",
        "GrpcErrorRatioHigh",
        "GatewayLatencyP99High",
        "OutboxBacklogGrowing",
        "OutboxDeliveriesFailing",
        "TargetDown",
    } <= names


def test_billing_alert_is_5_percent_over_5m_with_rate_guard() -> None:
    alert = next(a for a in _alerts() if a["alert"] == "BillingChargeErrorRateHigh")
    assert "> 0.05" in alert["expr"]
    assert "tollgate:billing_charge_requests:rate5m >" in alert["expr"]
    recording = yaml.safe_load((PROM / "rules" / "recording.yml").read_text())
    rules = {r["record"]: r["expr"] for g in recording["groups"] for r in g["rules"]}
    ratio = rules["tollgate:billing_charge_error_ratio:rate5m"]
    assert 'billing_charge_total{result="error"}[5m]' in ratio


def test_prometheus_scrapes_every_service_by_its_name() -> None:
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    ports = {"auth-svc": 9101, "billing-svc": 9102, "email-svc": 9103, "gateway": 8080}
    for service in SERVICES:
        targets = jobs[service]["static_configs"][0]["targets"]
        assert targets == [f"{service}:{ports[service]}"]
