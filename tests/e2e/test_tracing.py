"""One trace spans gateway → service → database (ARCHITECTURE §8), across real processes.

Every service exports OTLP to a collector this test runs (the OpenTelemetry protocol's own
gRPC service), so what is checked is what Jaeger would receive: the spans each process
exported, joined by the trace context they passed to one another.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import free_port, running_suite

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
CALLER_SPAN_ID = "00f067aa0ba902b7"
SERVER = trace_pb2.Span.SPAN_KIND_SERVER
CLIENT = trace_pb2.Span.SPAN_KIND_CLIENT


@dataclass(frozen=True)
class CollectedSpan:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root
    attributes: dict[str, Any]

    @property
    def statement(self) -> str:
        return str(self.attributes.get("db.statement", ""))


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace receiver that keeps every span it is sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[CollectedSpan] = []

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        received = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                received += [
                    CollectedSpan(
                        service=str(resource.get("service.name", "")),
                        name=span.name,
                        kind=span.kind,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        attributes=_attributes(span.attributes),
                    )
                    for span in scope_spans.spans
                ]
        with self._lock:
            self._spans += received
        return trace_service_pb2.ExportTraceServiceResponse()

    def spans(self) -> list[CollectedSpan]:
        with self._lock:
            return list(self._spans)

    def trace(self, trace_id: str) -> list[CollectedSpan]:
        return [s for s in self.spans() if s.trace_id == trace_id]


def _attributes(pairs: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        field = pair.value.WhichOneof("value")
        values[pair.key] = getattr(pair.value, field) if field else None
    return values


@pytest.fixture(scope="module")
def collector() -> Iterator[tuple[Collector, str]]:
    receiver = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    address = f"127.0.0.1:{free_port()}"
    server.add_insecure_port(address)
    server.start()
    try:
        yield receiver, address
    finally:
        server.stop(None)


@pytest.fixture(scope="module")
def traced_stack(
    tmp_path_factory: pytest.TempPathFactory, collector: tuple[Collector, str]
) -> Iterator[Stack]:
    _, address = collector
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{address}",
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within 0.1 s, not the default 5 s
    }
    with running_suite("e2e_trace", tmp_path_factory.mktemp("trace_stack"), env=env) as suite:
        yield suite


def _traceparent(trace_id: str) -> dict[str, str]:
    return {"traceparent": f"00-{trace_id}-{CALLER_SPAN_ID}-01"}


def _wait_for(done: Callable[[], bool], what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _one(spans: list[CollectedSpan], match: Callable[[CollectedSpan], bool]) -> CollectedSpan:
    found = [s for s in spans if match(s)]
    assert len(found) == 1, [(s.service, s.name, s.statement) for s in found]
    return found[0]


def _assert_one_tree(spans: list[CollectedSpan]) -> None:
    """Every span hangs from another span of the trace, up to the caller's one."""
    ids = {s.span_id for s in spans}
    orphans = [(s.service, s.name) for s in spans if s.parent_id not in ids | {CALLER_SPAN_ID}]
    assert orphans == []
    assert len([s for s in spans if s.parent_id == CALLER_SPAN_ID]) == 1


def _descends(span: CollectedSpan, ancestor: CollectedSpan, spans: list[CollectedSpan]) -> bool:
    by_id = {s.span_id: s for s in spans}
    current: CollectedSpan | None = span
    while current is not None:
        if current.parent_id == ancestor.span_id:
            return True
        current = by_id.get(current.parent_id)
    return False


def test_registration_is_one_trace_from_the_gateway_through_the_outbox_to_smtp(
    traced_stack: Stack, collector: tuple[Collector, str]
) -> None:
    receiver, _ = collector
    trace_id = uuid.uuid4().hex
    email = f"traced-{uuid.uuid4().hex[:12]}@example.com"
    response = httpx.post(
        traced_stack.http_url("gateway") + "/v1/auth/register",
        json={"email": email, "password": PASSWORD},
        headers=_traceparent(trace_id),
        timeout=15,
    )
    assert response.status_code == 200, response.text

    def email_svc_finished() -> bool:
        spans = receiver.trace(trace_id)
        return any(s.service == "email-svc" and s.kind == SERVER for s in spans) and any(
            s.service == "auth-svc" and "delivered_at" in s.statement for s in spans
        )

    _wait_for(email_svc_finished, "email-svc's and the relay's spans")
    spans = receiver.trace(trace_id)
    _assert_one_tree(spans)

    edge = _one(spans, lambda s: s.parent_id == CALLER_SPAN_ID)
    assert (edge.service, edge.kind, edge.name) == ("gateway", SERVER, "POST /v1/auth/register")
    register = _one(spans, lambda s: s.service == "auth-svc" and s.kind == SERVER)
    assert register.name.endswith("tollgate.auth.v1.AuthService/Register")
    assert _descends(register, edge, spans)
    insert = _one(spans, lambda s: s.service == "auth-svc" and "INSERT INTO users" in s.statement)
    assert _descends(insert, register, spans)

    # The relay's delivery continues the trace into email-svc and its database.
    delivery = _one(
        spans, lambda s: s.service == "auth-svc" and s.kind == CLIENT and not s.statement
    )
    assert delivery.name == "tollgate.email.v1.EmailService/SendEmail"
    assert delivery.attributes["tollgate.outbox.outcome"] == "delivered"
    assert _descends(delivery, register, spans)
    send = _one(spans, lambda s: s.service == "email-svc" and s.kind == SERVER)
    assert send.name.endswith("tollgate.email.v1.EmailService/SendEmail")
    assert send.parent_id == delivery.span_id
    email_queries = [s for s in spans if s.service == "email-svc" and s.statement]
    assert email_queries
    assert all(_descends(q, send, spans) for q in email_queries)


def test_a_charge_is_one_trace_from_the_gateway_to_the_ledger(
    traced_stack: Stack, collector: tuple[Collector, str]
) -> None:
    receiver, _ = collector
    with httpx.Client(base_url=traced_stack.http_url("gateway"), timeout=15) as api:
        email = f"payer-{uuid.uuid4().hex[:12]}@example.com"
        assert api.post("/v1/auth/register", json={"email": email, "password": PASSWORD}).is_success
        login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        token = login.json()["accessToken"]
        auth = {"authorization": f"Bearer {token}"}
        top_up = api.post(
            "/v1/wallet/top-ups", json={"amount": "500"}, headers={**auth, "Idempotency-Key": "t1"}
        )
        assert top_up.is_success, top_up.text

        trace_id = uuid.uuid4().hex
        charge = api.post(
            "/v1/wallet/charges",
            json={"amount": "125", "description": "traced"},
            headers={**auth, "Idempotency-Key": "c1", **_traceparent(trace_id)},
        )
        assert charge.is_success, charge.text

    def ledger_reached() -> bool:
        return any(s.service == "billing-svc" and s.statement for s in receiver.trace(trace_id))

    _wait_for(ledger_reached, "billing-svc's ledger query")
    time.sleep(0.5)  # the rest of the batch
    spans = receiver.trace(trace_id)
    _assert_one_tree(spans)
    edge = _one(spans, lambda s: s.parent_id == CALLER_SPAN_ID)
    assert (edge.service, edge.kind) == ("gateway", SERVER)
    charge_rpc = _one(spans, lambda s: s.service == "billing-svc" and s.kind == SERVER)
    assert charge_rpc.name.endswith("tollgate.billing.v1.BillingService/Charge")
    assert _descends(charge_rpc, edge, spans)
    queries = [s for s in spans if s.service == "billing-svc" and s.statement]
    assert any("billing_charge" in q.statement for q in queries)
    assert all(_descends(q, charge_rpc, spans) for q in queries)


def test_background_work_and_probes_start_no_traces_of_their_own(
    traced_stack: Stack, collector: tuple[Collector, str]
) -> None:
    receiver, _ = collector
    # The relay polls every 0.2 s here and /readyz pings the database and Redis.
    for _ in range(5):
        for name in ("auth", "billing", "email"):
            assert httpx.get(traced_stack.http_url(name) + "/readyz", timeout=5).is_success
        time.sleep(0.2)
    time.sleep(0.5)  # exported by now
    # A database or Redis call outside any request or delivery would be a root client span.
    roots = [
        (s.service, s.name, s.statement)
        for s in receiver.spans()
        if s.kind == CLIENT and not s.parent_id
    ]
    assert roots == []
    assert any(s.service == "auth-svc" for s in receiver.spans())  # the exports did arrive
