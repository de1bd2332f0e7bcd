import grpc
import pytest
from opentelemetry.trace import StatusCode

from billing_svc.api import CHARGE_SPAN
from billing_svc.api.servicer import opaque_user_id
from tollgate.billing.v1 import billing_pb2
from tollgate_kit.errors import StatusError

REQUEST = billing_pb2.ChargeRequest(amount=5, idempotency_key="k")


def charges(registry, outcome):
    return registry.get_sample_value("billing_charge_total", {"result": outcome})


async def test_a_database_failure_counts_as_an_error_and_marks_the_span(make_servicer):
    servicer, registry, exporter = make_servicer(OSError("connection refused"))
    with pytest.raises(OSError, match="connection refused"):
        await servicer.Charge(REQUEST, None)
    assert charges(registry, "error") == 1
    (span,) = exporter.get_finished_spans()
    assert span.name == CHARGE_SPAN
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["billing.outcome"] == "error"


async def test_a_decline_is_counted_by_reason_and_is_not_a_span_error(make_servicer, make_result):
    servicer, registry, exporter = make_servicer(make_result("insufficient_funds"))
    with pytest.raises(StatusError) as err:
        await servicer.Charge(REQUEST, None)
    assert err.value.code is grpc.StatusCode.FAILED_PRECONDITION
    assert err.value.reason == "INSUFFICIENT_FUNDS"
    assert charges(registry, "insufficient_funds") == 1
    assert charges(registry, "error") == 0
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is not StatusCode.ERROR


async def test_every_result_series_exists_from_the_start(make_servicer, make_result):
    _, registry, _ = make_servicer(make_result("created"))
    for outcome in ("success", "replay", "insufficient_funds", "invalid", "conflict", "error"):
        assert charges(registry, outcome) == 0


def test_the_user_is_hashed_in_traces():
    hashed = opaque_user_id("user-1")
    assert "user-1" not in hashed
    assert hashed == opaque_user_id("user-1") != opaque_user_id("user-2")
