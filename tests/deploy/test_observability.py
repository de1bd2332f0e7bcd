"""Grafana provisioning and dashboards, Loki and Alloy configs.

Grafana, Loki and Alloy binaries are not available here, so these are structural checks:
valid JSON/YAML, datasource uids that exist, PromQL that names only metrics the recording
rules know (deploy/prometheus/rules is the one list of metric names), and an Alloy
pipeline whose components are all defined."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))

PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "le", "inf", "nan",
}  # fmt: skip


def known_metric_names() -> set[str]:
    """Every series the rule files record or read (raw service metrics included)."""
    names: set[str] = set()
    for path in (DEPLOY / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    names.add(rule["record"])
                names |= metric_names(rule["expr"])
    return names


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (label matchers, strings, grouping clauses,
    function calls, durations and Grafana variables stripped)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        name = match.group(0)
        following = text[match.end() :].lstrip()
        if following.startswith("(") or name.lower() in PROMQL_WORDS:
            continue
        names.add(name)
    return names


def test_metric_name_extraction() -> None:
    expr = (
        'sum by (job, le) (rate(http_request_duration_seconds_bucket{route=~"/v1/.*"}[5m]))'
        ' / on (job) group_left tollgate:x:rate5m{job="$service"} > bool 0.5'
    )
    assert metric_names(expr) == {"http_request_duration_seconds_bucket", "tollgate:x:rate5m"}


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels += panel.get("panels", [])
    return panels


def _datasources() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yml").read_text()
    )
    return {ds["uid"]: ds for ds in config["datasources"]}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_valid(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"]
    assert dashboard["title"]
    panels = _panels(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    datasources = _datasources()
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["gridPos"]["w"] <= 24
        assert panel["datasource"]["uid"] in datasources, panel["title"]
        assert panel["targets"], panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_queries_use_only_known_metrics(path: Path) -> None:
    known = known_metric_names() | {"up"}
    dashboard = json.loads(path.read_text())
    queried = set()
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("datasource", panel.get("datasource", {})).get("type") == "prometheus":
                queried |= metric_names(target["expr"])
    assert queried, "no PromQL queries found"
    assert queried - known == set()


def test_overview_dashboard_covers_the_suite() -> None:
    dashboard = json.loads(
        (DEPLOY / "grafana" / "dashboards" / "tollgate-overview.json").read_text()
    )
    panels = _panels(dashboard)
    exprs = " ".join(t.get("expr", "") for p in panels for t in p.get("targets", []))
    for needle in (
        "tollgate:grpc_requests:rate5m",
        "tollgate:grpc_error_ratio:rate5m",
        "tollgate:grpc_latency_seconds:p99_5m",
        "tollgate:http_route_requests:rate5m",
        "tollgate:billing_charges:rate5m",
        "tollgate:auth_register:rate5m",
        "tollgate:auth_login:rate5m",
        "tollgate:outbox_depth:max",
    ):
        assert needle in exprs, needle
    types = {p["type"] for p in panels}
    assert "logs" in types
    logs = next(p for p in panels if p["type"] == "logs")
    assert logs["datasource"]["uid"] == "loki"


def test_datasources_link_logs_and_traces() -> None:
    datasources = _datasources()
    assert {ds["type"] for ds in datasources.values()} == {
        "prometheus",
        "loki",
        "jaeger",
        "alertmanager",
    }
    (derived,) = datasources["loki"]["jsonData"]["derivedFields"]
    assert derived["datasourceUid"] == "jaeger"
    line = '{"ts": "2026-01-01T00:00:00Z", "level": "info", "trace_id": "' + "ab" * 16 + '"}'
    match = re.search(derived["matcherRegex"], line)
    assert match is not None
    assert match.group(1) == "ab" * 16
    # `$$` keeps Grafana's env expansion of provisioning files away from the link variable.
    assert derived["url"] == "$${__value.raw}"
    assert datasources["jaeger"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert datasources["prometheus"]["url"] == "http://prometheus:9090"
    assert datasources["jaeger"]["url"] == "http://jaeger:16686"


def test_dashboard_provider_points_at_the_mounted_folder() -> None:
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "tollgate.yml").read_text()
    )
    (entry,) = provider["providers"]
    assert entry["type"] == "file"
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{entry['options']['path']}:ro" in mounts


def test_loki_config() -> None:
    config = yaml.safe_load((DEPLOY / "loki" / "config.yaml").read_text())
    assert config["server"]["http_listen_port"] == 3100
    (schema,) = config["schema_config"]["configs"]
    assert schema["store"] == "tsdb"
    assert schema["schema"] == "v13"
    assert config["limits_config"]["allow_structured_metadata"] is True
    assert config["compactor"]["retention_enabled"] is True


def test_alloy_pipeline_is_connected() -> None:
    text = (DEPLOY / "alloy" / "config.alloy").read_text()
    assert text.count("{") == text.count("}")
    defined = {
        f"{kind}.{label}" for kind, label in re.findall(r'^([a-z_.]+)\s+"(\w+)"\s*\{', text, re.M)
    }
    assert {
        "discovery.docker.containers",
        "discovery.relabel.containers",
        "loki.source.docker.containers",
        "loki.process.json_lines",
        "loki.write.local",
    } <= defined
    for reference in re.findall(
        r"\b((?:discovery|loki)\.[a-z_.]+)\.(?:targets|rules|receiver)\b", text
    ):
        assert reference in defined, reference
    assert "http://loki:3100/loki/api/v1/push" in text
