"""JSON logs carry the service name and the active span's ids."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider

from tollgate_kit.logs import configure_logging, get_logger


def test_log_line_inside_a_span_carries_its_trace_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("kit-test")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        get_logger("t").info("inside", amount=5)
    get_logger("t").info("outside")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    inside, outside = lines[-2], lines[-1]
    ctx = span.get_span_context()
    assert inside["trace_id"] == format(ctx.trace_id, "032x")
    assert inside["span_id"] == format(ctx.span_id, "016x")
    assert inside["service"] == "kit-test"
    assert inside["level"] == "info"
    assert inside["msg"] == "inside"
    assert "ts" in inside
    assert "trace_id" not in outside


def test_unknown_log_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("kit-test", "LOUD")
