"""The alert path, live: the real `prometheus` and `alertmanager` binaries (Debian's) scrape and
route for the suite as the devstack runs it. billing-svc reaches PostgreSQL through a TCP proxy
that the test cuts for a chosen share of the charges, so those fail on the server side as a
lost database would make them fail. Prometheus' HTTP API must then show the recording rule
behind `billing_charge_error_rate` at that share, `BillingChargeErrorRateHigh` must fire, and
its mail must reach the dev mail catcher through Alertmanager.

The rules, Prometheus config and Alertmanager config are the files in deploy/, loaded with only
what a test run needs changed: the suite's ports, 1 s scrape and evaluation intervals, a 5 s
`for:` on the billing alert (the promtool unit tests keep the real 5 m) and a 1 s group_wait.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import TcpProxy, free_port, postgres_server_url, running_suite

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SERVICES = ("auth-svc", "billing-svc", "email-svc", "gateway")
PASSWORD = "correct horse battery staple"
# 80 charges, every 5th with billing's database cut: 20 % server-side failures, well above the
# alert's 5 % and, at 80 charges in a 5 m window, above its 0.1 charges/s traffic guard.
CHARGES = 80
FAIL_EVERY = 5
INDUCED = 1 / FAIL_EVERY
# Both counters are scraped at the same instants and start at 0, so rate() extrapolates them
# alike and the recorded ratio is the share of the counted increases: only a charge that failed
# or succeeded against the plan could move it. One charge in 80 is 0.0125.
TOLERANCE = 0.01
SHORT_FOR = "5s"
T = TypeVar("T")


class ThreadedProxy:
    """A :class:`TcpProxy` on an event loop of its own thread: the stack's start-up blocks the
    test's thread, and billing's migrations already connect through the proxy."""

    def __init__(self, host: str, port: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._proxy = TcpProxy(host, port)
        self.port = self._proxy.port

    def _call(self, make: Callable[[], Any]) -> None:
        asyncio.run_coroutine_threadsafe(make(), self._loop).result(timeout=10)

    @staticmethod
    async def _settle() -> None:
        """Let the aborted connections close, then end the forwarding tasks left waiting."""
        await asyncio.sleep(0.2)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def start(self) -> None:
        self._call(self._proxy.start)

    def cut(self) -> None:
        self._call(self._proxy.cut)

    def close(self) -> None:
        self.cut()
        self._call(self._settle)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{names[0]} is not installed (Debian: {names[-1]})", pytrace=False)


def _poll(what: str, check: Callable[[], T | None], timeout: float, logs: list[Path]) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result is not None:
            return result
        time.sleep(0.25)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}")


@pytest.fixture(scope="module")
def billing_db_proxy() -> Iterator[ThreadedProxy]:
    target = urlsplit(postgres_server_url())
    proxy = ThreadedProxy(target.hostname or "127.0.0.1", target.port or 5432)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def suite(
    tmp_path_factory: pytest.TempPathFactory, billing_db_proxy: ThreadedProxy
) -> Iterator[Stack]:
    with running_suite(
        "alerts",
        tmp_path_factory.mktemp("alerts-stack"),
        database_ports={"billing": billing_db_proxy.port},
    ) as stack:
        yield stack


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


def prometheus_config(stack: Stack, alertmanager: str, rules_dir: Path) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(rules_dir / "*.yml")]
    config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [alertmanager]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(SERVICES) <= set(jobs)
    for name in SERVICES:
        target = _host_port(stack.http_url(name.removesuffix("-svc")))
        jobs[name]["static_configs"][0]["targets"] = [target]
    config["scrape_configs"] = [jobs[name] for name in SERVICES]
    return config


def copy_rules(rules_dir: Path) -> None:
    rules_dir.mkdir()
    for path in (DEPLOY / "prometheus" / "rules").glob("*.yml"):
        rules = yaml.safe_load(path.read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == "BillingChargeErrorRateHigh":
                    rule["for"] = SHORT_FOR
        (rules_dir / path.name).write_text(yaml.safe_dump(rules))
    shortened = (rules_dir / "alerts.yml").read_text()
    assert f"for: {SHORT_FOR}" in shortened


def alertmanager_config(stack: Stack) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(
        (DEPLOY / "alertmanager" / "alertmanager.yml").read_text()
    )
    config["global"]["smtp_smarthost"] = f"127.0.0.1:{stack.smtp_port}"
    config["route"].update(group_wait="1s", group_interval="1s")
    return config


@pytest.fixture(scope="module")
def monitoring(suite: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Alertmanager, then Prometheus, as real processes; yields their URLs and log files."""
    work = tmp_path_factory.mktemp("monitoring")
    am_port, prom_port = free_port(), free_port()
    (work / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_config(suite)))
    copy_rules(work / "rules")
    prom = prometheus_config(suite, f"127.0.0.1:{am_port}", work / "rules")
    (work / "prometheus.yml").write_text(yaml.safe_dump(prom))
    commands = {
        "alertmanager": [
            _binary("prometheus-alertmanager", "alertmanager", "prometheus-alertmanager"),
            f"--config.file={work / 'alertmanager.yml'}",
            f"--storage.path={work / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        "prometheus": [
            _binary("prometheus", "prometheus"),
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
    }
    logs = [work / f"{name}.log" for name in commands]
    processes = []
    try:
        for (name, command), log in zip(commands.items(), logs, strict=True):
            with log.open("w") as out:
                processes.append(
                    subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=work)
                )
            url = f"http://127.0.0.1:{am_port if name == 'alertmanager' else prom_port}"
            _poll(f"{name} ready", lambda url=url: _ready(url), 30, logs)
        yield {
            "prometheus": f"http://127.0.0.1:{prom_port}",
            "alertmanager": f"http://127.0.0.1:{am_port}",
            "logs": logs,
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(url: str) -> bool | None:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200 or None
    except httpx.HTTPError:
        return None


def _query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=5)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _scalar(prometheus: str, expr: str) -> float | None:
    result = _query(prometheus, expr)
    return float(result[0]["value"][1]) if result else None


def _signed_in(api: httpx.Client) -> dict[str, str]:
    email = f"alerts-{uuid.uuid4().hex[:12]}@example.com"
    registered = api.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 200, registered.text
    login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['accessToken']}"}


def _billing_counts(stack: Stack) -> dict[str, float]:
    """billing-svc's own billing_charge_total children, read from its /metrics."""
    text = httpx.get(f"{stack.http_url('billing')}/metrics", timeout=5).text
    counts = {}
    for line in text.splitlines():
        if line.startswith("billing_charge_total{"):
            labels, value = line.rsplit(" ", 1)
            result = labels.split('result="', 1)[1].split('"', 1)[0]
            counts[result] = float(value)
    return counts


def test_induced_charge_failures_are_recorded_alerted_and_mailed(
    suite: Stack, monitoring: dict[str, Any], billing_db_proxy: ThreadedProxy
) -> None:
    prometheus, logs = monitoring["prometheus"], monitoring["logs"]
    api = httpx.Client(base_url=suite.http_url("gateway"), timeout=15)
    auth = _signed_in(api)
    top_up = api.post(
        "/v1/wallet/top-ups",
        json={"amount": "100000"},
        headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert top_up.status_code == 200, top_up.text

    # Every service scraped, and billing's charge counters seen at 0 before any charge: the
    # rate windows then start from the same zero for both results.
    def scraped() -> bool | None:
        up = {r["metric"]["job"]: r["value"][1] for r in _query(prometheus, "up")}
        seen = _query(prometheus, 'billing_charge_total{job="billing-svc",result="error"}')
        return (up == dict.fromkeys(SERVICES, "1") and bool(seen)) or None

    _poll("every target scraped", scraped, 30, logs)
    assert _billing_counts(suite) == dict.fromkeys(_billing_counts(suite), 0.0)

    outcomes = []
    for n in range(CHARGES):
        failing = n % FAIL_EVERY == FAIL_EVERY - 1
        if failing:
            billing_db_proxy.cut()
        try:
            charge = api.post(
                "/v1/wallet/charges",
                json={"amount": "1", "description": f"alert test {n}"},
                headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
            )
        finally:
            if failing:
                billing_db_proxy.start()
        outcomes.append((failing, charge.status_code))
    # The plan held: every charge without its database failed server-side, every other one went
    # through. billing-svc counted them so.
    assert [code for failing, code in outcomes if failing] == [503] * (CHARGES // FAIL_EVERY)
    assert {code for failing, code in outcomes if not failing} == {200}
    counts = _billing_counts(suite)
    assert counts["error"] == CHARGES // FAIL_EVERY
    assert sum(counts.values()) == CHARGES

    # Prometheus has scraped the final counts (at `scraped_at`), and the recording rule has
    # been evaluated a whole interval after that scrape, on data that includes it.
    counted = 'sum(billing_charge_total{job="billing-svc"})'
    _poll(
        "the last charges scraped",
        lambda: _scalar(prometheus, counted) == CHARGES or None,
        20,
        logs,
    )
    scraped_at = _scalar(prometheus, 'max(timestamp(billing_charge_total{job="billing-svc"}))')
    assert scraped_at is not None
    ratio_expr = 'tollgate:billing_charge_error_ratio:rate5m{job="billing-svc"}'
    _poll(
        "the recording rule evaluated on them",
        lambda: (_scalar(prometheus, f"timestamp({ratio_expr})") or 0) > scraped_at + 1 or None,
        20,
        logs,
    )
    ratio = _scalar(prometheus, ratio_expr)
    assert ratio is not None
    assert abs(ratio - INDUCED) <= TOLERANCE, f"recorded {ratio:.4f}, induced {INDUCED}"

    def firing() -> dict[str, Any] | None:
        alerts = httpx.get(f"{prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        return next(
            (
                a
                for a in alerts
                if a["labels"]["alertname"] == "BillingChargeErrorRateHigh"
                and a["state"] == "firing"
            ),
            None,
        )

    alert = _poll("BillingChargeErrorRateHigh firing", firing, 30, logs)
    assert alert["labels"]["job"] == "billing-svc"
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"] == "billing-svc: 20% of charges are failing"

    mailbox = suite.http_url("mailcatcher")

    def mailed() -> dict[str, Any] | None:
        listed = httpx.get(f"{mailbox}/api/v1/messages", timeout=5).json()["messages"]
        for summary in listed:
            if "BillingChargeErrorRateHigh" in summary["Subject"]:
                detail: dict[str, Any] = httpx.get(
                    f"{mailbox}/api/v1/message/{summary['ID']}", timeout=5
                ).json()
                return detail
        return None

    mail = _poll("the alert mail in the mail catcher", mailed, 30, logs)
    assert [to["Address"] for to in mail["To"]] == ["oncall@tollgate.local"]
    assert mail["From"]["Address"] == "alertmanager@tollgate.local"
    assert "[FIRING:1]" in mail["Subject"]
    assert "billing-svc: 20% of charges are failing" in mail["Text"] + mail["HTML"]
    api.close()
