"""The billing.charge span and the charge outcome counters."""

import uuid

import grpc
import pytest

from billing_svc.api.servicer import opaque_user_id
from tollgate.billing.v1 import billing_pb2

pytestmark = pytest.mark.integration


def charge_spans(exporter):
    return [s for s in exporter.get_finished_spans() if s.name == "billing.charge"]


async def test_each_charge_is_traced_with_its_outcome(billing, span_exporter):
    user_id = f"user-{uuid.uuid4().hex}"
    md = await billing.session(user_id)
    await billing.stub.TopUp(billing_pb2.TopUpRequest(amount=50, idempotency_key="t"), metadata=md)
    request = billing_pb2.ChargeRequest(amount=20, idempotency_key="c")
    await billing.stub.Charge(request, metadata=md)
    await billing.stub.Charge(request, metadata=md)
    with pytest.raises(grpc.aio.AioRpcError):
        await billing.stub.Charge(
            billing_pb2.ChargeRequest(amount=40, idempotency_key="d"), metadata=md
        )

    first, replay, declined = charge_spans(span_exporter)
    assert dict(first.attributes) == {
        "billing.amount": 20,
        "billing.currency": "USD",
        "billing.user": opaque_user_id(user_id),
        "billing.outcome": "success",
        "billing.idempotent_replay": False,
    }
    assert replay.attributes["billing.outcome"] == "replay"
    assert replay.attributes["billing.idempotent_replay"] is True
    assert declined.attributes["billing.outcome"] == "insufficient_funds"
    assert declined.attributes["billing.amount"] == 40
    for span in (first, replay, declined):
        assert user_id not in str(dict(span.attributes))


async def test_charge_outcomes_are_counted_on_the_metrics_port(billing):
    md = await billing.funded(10)
    await billing.stub.Charge(billing_pb2.ChargeRequest(amount=5, idempotency_key="a"), metadata=md)
    await billing.stub.Charge(billing_pb2.ChargeRequest(amount=5, idempotency_key="a"), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError):
        await billing.stub.Charge(
            billing_pb2.ChargeRequest(amount=6, idempotency_key="b"), metadata=md
        )
    assert await billing.metric("billing_charge_total", result="success") == 1
    assert await billing.metric("billing_charge_total", result="replay") == 1
    assert await billing.metric("billing_charge_total", result="insufficient_funds") == 1
    assert await billing.metric("billing_charge_total", result="error") == 0
    assert await billing.metric("billing_top_up_total", result="success") == 1
    assert (
        await billing.metric(
            "grpc_server_handled_total",
            grpc_code="OK",
            grpc_method="Charge",
            grpc_service="tollgate.billing.v1.BillingService",
        )
        == 2
    )
