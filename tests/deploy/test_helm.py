"""The Helm chart, rendered and linted by the real Helm library (helm-python-sdk binds
Helm's Go SDK), then validated against the Kubernetes OpenAPI schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from gateway.config import GatewaySettings

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "tollgate"
TEST_VALUES = yaml.safe_load((CHART / "ci" / "test-values.yaml").read_text())
PREFIXES = {
    "auth-svc": "AUTH",
    "billing-svc": "BILLING",
    "email-svc": "EMAIL",
    "gateway": "GATEWAY",
}
# The chart's minimum (Chart.yaml kubeVersion) and the newest schemas available.
KUBE_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())


def render(
    values: dict[str, Any], *, upgrade: bool = False, release: str = "tollgate"
) -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(
            values, name=release, namespace="prod", is_install=not upgrade, is_upgrade=upgrade
        )
    docs = []
    for path, text in manifests.items():
        if not path.endswith((".yaml", ".yml")):
            continue
        docs += [doc for doc in yaml.safe_load_all(text) if doc]
    return docs


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return render(TEST_VALUES)


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_helm_lint_strict_is_clean() -> None:
    report = helm.lint(str(CHART), TEST_VALUES, strict=True, namespace="prod")
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == []


def test_smtp_host_is_required() -> None:
    with pytest.raises(helm.HelmError, match=r"smtp\.host is required"):
        render({"auth": {"publicUrl": "https://tollgate.example.com"}, "smtp": {"sender": "a@b.c"}})


def test_public_url_is_required() -> None:
    # Without it, verification links in production mail would point at 127.0.0.1.
    values = {**TEST_VALUES, "auth": {**TEST_VALUES["auth"], "publicUrl": ""}}
    with pytest.raises(helm.HelmError, match=r"auth\.publicUrl is required"):
        render(values)


def test_an_ingress_needs_trusted_proxies() -> None:
    values = {**TEST_VALUES, "services": {"gateway": {"trustedProxies": []}}}
    with pytest.raises(helm.HelmError, match=r"needs services\.gateway\.trustedProxies"):
        render(values)


def test_gateway_trusts_the_configured_proxies_and_reads_its_grace(
    docs: list[dict[str, Any]],
) -> None:
    data = of_kind(docs, "ConfigMap")["tollgate-gateway"]["data"]
    assert data["GATEWAY_TRUSTED_PROXIES"] == "10.42.0.0/16,10.43.0.10"
    settings = GatewaySettings(
        trusted_proxies=data["GATEWAY_TRUSTED_PROXIES"],
        shutdown_grace_seconds=data["GATEWAY_SHUTDOWN_GRACE_SECONDS"],
    )
    assert settings.trusted_proxies == ["10.42.0.0/16", "10.43.0.10"]
    # Every GATEWAY_* name the chart sets is one the gateway reads.
    fields = {name.upper() for name in GatewaySettings.model_fields}
    assert {key.removeprefix("GATEWAY_") for key in data if key.startswith("GATEWAY_")} <= fields


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_manifests_match_the_kubernetes_schemas(docs: list[dict[str, Any]], version: str) -> None:
    checked = 0
    for doc in docs:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # Prometheus Operator CRDs: not in the core schemas
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked >= 20


def test_all_parts_are_rendered(docs: list[dict[str, Any]]) -> None:
    kinds = {d["kind"] for d in docs}
    assert {
        "Deployment",
        "Service",
        "ConfigMap",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Job",
        "ServiceAccount",
        "Ingress",
        "ServiceMonitor",
        "PrometheusRule",
        "NetworkPolicy",
    } <= kinds
    assert set(of_kind(docs, "Deployment")) == {f"tollgate-{s}" for s in PREFIXES}


def test_nothing_home_made_stands_in_for_postgres_redis_or_smtp(docs: list[dict[str, Any]]) -> None:
    assert not [d for d in docs if d["kind"] in {"StatefulSet", "DaemonSet", "Secret"}]
    images = [
        c["image"]
        for d in docs
        if d["kind"] in {"Deployment", "Job"}
        for c in d["spec"]["template"]["spec"]["containers"]
    ]
    assert images
    assert all(image.startswith("ghcr.io/acme/tollgate/") for image in images)


@pytest.mark.parametrize("service", PREFIXES)
def test_deployment_is_production_shaped(docs: list[dict[str, Any]], service: str) -> None:
    deployment = of_kind(docs, "Deployment")[f"tollgate-{service}"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"ghcr.io/acme/tollgate/{service}:0123abcd"
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] >= 30
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    prefix = PREFIXES[service]
    configmap = of_kind(docs, "ConfigMap")[container["envFrom"][0]["configMapRef"]["name"]]
    names = list(configmap["data"]) + [e["name"] for e in container.get("env", [])]
    for name in names:
        assert name.startswith((f"{prefix}_", "OTEL_")), name
    assert configmap["data"][f"{prefix}_HTTP_PORT"] == str(container["ports"][-1]["containerPort"])
    assert configmap["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert f"tollgate-{service}" in of_kind(docs, "PodDisruptionBudget")
    assert f"tollgate-{service}" in of_kind(docs, "Service")


def test_secrets_come_from_existing_secrets(docs: list[dict[str, Any]]) -> None:
    deployments = of_kind(docs, "Deployment")
    auth = deployments["tollgate-auth-svc"]["spec"]["template"]["spec"]
    keys = next(v for v in auth["volumes"] if v["name"] == "signing-keys")
    assert keys["secret"]["secretName"] == "tollgate-auth-signing-keys"
    mount = next(m for m in auth["containers"][0]["volumeMounts"] if m["name"] == "signing-keys")
    assert mount["readOnly"] is True
    env = {e["name"]: e for e in auth["containers"][0]["env"]}
    assert env["AUTH_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "tollgate-postgresql"
    assert env["AUTH_REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == "tollgate-redis"
    gateway = deployments["tollgate-gateway"]["spec"]["template"]["spec"]["containers"][0]
    assert "replicas" not in deployments["tollgate-gateway"]["spec"]  # the HPA owns it
    assert {e["name"] for e in gateway["env"]} == {"GATEWAY_REDIS_URL"}


@pytest.mark.parametrize(
    ("client", "variable", "backend"),
    [
        ("gateway", "GATEWAY_AUTH_ADDR", "auth-svc"),
        ("gateway", "GATEWAY_BILLING_ADDR", "billing-svc"),
        ("billing-svc", "BILLING_AUTH_ADDR", "auth-svc"),
        ("auth-svc", "AUTH_EMAIL_ADDR", "email-svc"),
        ("auth-svc", "AUTH_BILLING_ADDR", "billing-svc"),
    ],
)
def test_backend_addresses_point_at_the_services(
    docs: list[dict[str, Any]], client: str, variable: str, backend: str
) -> None:
    data = of_kind(docs, "ConfigMap")[f"tollgate-{client}"]["data"]
    # gRPC's DNS resolver on a headless Service: every ready pod, balanced per call.
    scheme, target = data[variable].split(":///")
    host, port = target.split(":")
    assert (scheme, host) == ("dns", f"tollgate-{backend}-grpc")
    service = of_kind(docs, "Service")[host]
    assert service["spec"]["clusterIP"] == "None"
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    assert ports["grpc"] == int(port)
    # It selects the same pods as the ClusterIP Service.
    ordinary = of_kind(docs, "Service")[f"tollgate-{backend}"]
    assert service["spec"]["selector"] == ordinary["spec"]["selector"]


@pytest.mark.parametrize("length", [40, 48, 53, 57, 63])
def test_names_stay_distinct_and_within_kubernetes_limits_for_long_release_names(
    length: int,
) -> None:
    release = ("acme-payments-production-eu-west-primary-" + "x" * 30)[:length].rstrip("-")
    docs = render(TEST_VALUES, release=release)
    names = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert max(len(name) for _, name in names) <= 63, max(names, key=lambda n: len(n[1]))
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)
    # Each backend address names its own Service.
    services = of_kind(docs, "Service")
    hosts = {}
    for config in of_kind(docs, "ConfigMap").values():
        for key, value in config.get("data", {}).items():
            if key.endswith("_ADDR"):
                host = value.removeprefix("dns:///").rsplit(":", 1)[0]
                assert host in services, (key, value)
                hosts.setdefault(key.split("_", 1)[1], set()).add(host)
    assert len({frozenset(h) for h in hosts.values()}) == len(hosts), hosts


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(docs: list[dict[str, Any]]) -> None:
    jobs = of_kind(docs, "Job")
    assert set(jobs) == {f"tollgate-{s}-migrate" for s in ("auth-svc", "billing-svc", "email-svc")}
    for job in jobs.values():
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["migrate"]
        # A hook runs before the release's ConfigMaps exist: nothing may reference them.
        assert "envFrom" not in container
        assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_prometheus_rule_reuses_the_rule_files(docs: list[dict[str, Any]]) -> None:
    (rule,) = of_kind(docs, "PrometheusRule").values()
    expected = []
    for path in sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml")):
        expected += yaml.safe_load(path.read_text())["groups"]
    assert rule["spec"]["groups"] == expected
    (monitor,) = of_kind(docs, "ServiceMonitor").values()
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    assert monitor["spec"]["endpoints"][0]["port"] == "http"


def test_monitoring_is_optional() -> None:
    values = {**TEST_VALUES, "monitoring": {}, "ingress": {"enabled": False}}
    kinds = {d["kind"] for d in render(values, upgrade=True)}
    assert not kinds & {"ServiceMonitor", "PrometheusRule", "Ingress"}


def test_grafana_dashboards_are_configmaps_for_the_sidecar(docs: list[dict[str, Any]]) -> None:
    maps = {
        name: doc
        for name, doc in of_kind(docs, "ConfigMap").items()
        if doc["metadata"]["labels"].get("grafana_dashboard") == "1"
    }
    files = sorted((REPO / "deploy" / "grafana" / "dashboards").glob("*.json"))
    assert files
    assert len(maps) == len(files)
    shipped = {key: value for doc in maps.values() for key, value in doc["data"].items()}
    for path in files:
        assert json.loads(shipped[path.name]) == json.loads(path.read_text())
    for doc in maps.values():
        assert doc["metadata"]["annotations"] == {"grafana_folder": "Tollgate"}


def test_billing_and_the_gateway_autoscale(docs: list[dict[str, Any]]) -> None:
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    for name in ("tollgate-billing-svc", "tollgate-gateway"):
        hpa = hpas[name]
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert hpa["spec"]["minReplicas"] >= 2
        # The HPA owns the replica count: the Deployment leaves it unset.
        assert "replicas" not in of_kind(docs, "Deployment")[name]["spec"]


def test_network_policies_open_grpc_to_this_release_only(docs: list[dict[str, Any]]) -> None:
    policies = of_kind(docs, "NetworkPolicy")
    assert set(policies) == {f"tollgate-{s}" for s in PREFIXES}
    for service in PREFIXES:
        spec = policies[f"tollgate-{service}"]["spec"]
        assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == service
        assert spec["policyTypes"] == ["Ingress"]
        rules = {rule["ports"][0]["port"]: rule for rule in spec["ingress"]}
        if service == "gateway":
            assert set(rules) == {"http"}
            assert rules["http"]["from"] == TEST_VALUES["networkPolicy"]["gatewayFrom"]
            continue
        assert set(rules) == {"http", "grpc"}
        assert "from" not in rules["http"]  # httpFrom empty: probes and Prometheus from anywhere
        (peer,) = rules["grpc"]["from"]
        assert peer == {
            "podSelector": {
                "matchLabels": {
                    "app.kubernetes.io/part-of": "tollgate",
                    "app.kubernetes.io/instance": "tollgate",
                }
            }
        }
    # Every pod the gRPC rule admits is one of the release's Deployments' pods.
    for deployment in of_kind(docs, "Deployment").values():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "tollgate"
        assert labels["app.kubernetes.io/instance"] == "tollgate"


def test_a_broken_network_policy_is_rejected_by_the_kubernetes_schema(
    docs: list[dict[str, Any]],
) -> None:
    policy = json.loads(json.dumps(of_kind(docs, "NetworkPolicy")["tollgate-billing-svc"]))
    policy["spec"]["policyTypes"] = "Ingress"  # a string where a list belongs
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(policy, KUBE_VERSIONS[-1], strict=True)


def test_the_otlp_endpoint_reaches_every_service() -> None:
    endpoint = "http://otel-collector.observability:4317"
    maps = of_kind(render({**TEST_VALUES, "config": {"otlpEndpoint": endpoint}}), "ConfigMap")
    for service in PREFIXES:
        assert maps[f"tollgate-{service}"]["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == endpoint
    quiet = of_kind(render({**TEST_VALUES, "config": {"otlpEndpoint": ""}}), "ConfigMap")
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in quiet["tollgate-gateway"]["data"]


def test_values_schema_is_a_valid_draft_7_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    # The chart's own values and the CI values satisfy it.
    jsonschema.Draft7Validator(schema).validate(yaml.safe_load((CHART / "values.yaml").read_text()))
    broken = {**schema, "properties": {**schema["properties"], "image": {"type": "strng"}}}
    with pytest.raises(jsonschema.SchemaError):
        jsonschema.Draft7Validator.check_schema(broken)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"services": {"billing": {"grpcPort": "fifty"}}}, "/services/billing/grpcPort"),
        ({"services": {"biling": {"enabled": True}}}, "biling"),
        ({"smtp": {"security": "ssl"}}, "/smtp/security"),
        ({"config": {"otlpEndpoint": "otel-collector:4317"}}, "/config/otlpEndpoint"),
        ({"networkPolicy": {"enabled": "yes"}}, "/networkPolicy/enabled"),
    ],
    ids=["port-type", "unknown-service", "smtp-security", "otlp-scheme", "bool-type"],
)
def test_helm_refuses_values_the_schema_rejects(change: dict[str, Any], where: str) -> None:
    values = yaml.safe_load(yaml.safe_dump(TEST_VALUES))
    for key, value in change.items():
        values[key] = {**values.get(key, {}), **value}
    with pytest.raises(helm.HelmError, match="schema") as error:
        render(values)
    assert where in str(error.value)


def test_mutual_tls_mounts_each_service_s_own_certificate() -> None:
    """With mtls.enabled each service reads its own Secret (a cert-manager Certificate's
    ca.crt/tls.crt/tls.key) and tells the kit where (tollgate_kit.mtls); off by default."""
    assert not any(
        e["name"].endswith("_TLS_CA_FILE")
        for d in of_kind(render(TEST_VALUES), "Deployment").values()
        for e in d["spec"]["template"]["spec"]["containers"][0].get("env", [])
    )
    docs = render({**TEST_VALUES, "mtls": {"enabled": True, "secretPrefix": "mtls-"}})
    for key, service in (
        ("auth", "auth-svc"),
        ("billing", "billing-svc"),
        ("email", "email-svc"),
        ("gateway", "gateway"),
    ):
        pod = of_kind(docs, "Deployment")[f"tollgate-{service}"]["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["name"] == "mtls")
        assert volume["secret"]["secretName"] == f"mtls-{key}"
        container = pod["containers"][0]
        mount = next(m for m in container["volumeMounts"] if m["name"] == "mtls")
        assert (mount["mountPath"], mount["readOnly"]) == ("/tls", True)
        env = {e["name"]: e.get("value") for e in container["env"]}
        prefix = PREFIXES[service]
        assert env[f"{prefix}_TLS_CA_FILE"] == "/tls/ca.crt"
        assert env[f"{prefix}_TLS_CERT_FILE"] == "/tls/tls.crt"
        assert env[f"{prefix}_TLS_KEY_FILE"] == "/tls/tls.key"


def test_pgbouncer_is_optional_and_pools_the_services_but_not_their_migrations() -> None:
    assert "tollgate-pgbouncer" not in of_kind(render(TEST_VALUES), "Deployment")
    values = {
        **TEST_VALUES,
        "pgbouncer": {**TEST_VALUES.get("pgbouncer", {}), "enabled": True, "host": "pg-rw"},
    }
    rendered = render(values)
    deployments = of_kind(rendered, "Deployment")
    pooler = deployments["tollgate-pgbouncer"]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "POOL_MODE", "value": "transaction"} in pooler["env"]
    assert "tollgate-pgbouncer" in of_kind(rendered, "Service")

    def database_keys(spec: dict[str, Any]) -> dict[str, str]:
        return {
            e["name"]: e["valueFrom"]["secretKeyRef"]["key"]
            for c in spec["template"]["spec"]["containers"]
            for e in c.get("env", [])
            if "DATABASE" in e["name"]
        }

    assert database_keys(deployments["tollgate-billing-svc"]["spec"]) == {
        "BILLING_DATABASE_URL": "billing-pooled-database-url"
    }
    assert database_keys(deployments["tollgate-auth-svc"]["spec"]) == {
        "AUTH_DATABASE_URL": "auth-pooled-database-url",
        "AUTH_DATABASE_LISTEN_URL": "auth-database-url",
    }
    jobs = of_kind(rendered, "Job")
    assert database_keys(jobs["tollgate-billing-svc-migrate"]["spec"]) == {
        "BILLING_DATABASE_URL": "billing-database-url"
    }
    for version in KUBE_VERSIONS:
        for doc in rendered:
            if doc["metadata"]["name"] == "tollgate-pgbouncer":
                kubernetes_validate.validate(doc, version, strict=True)
