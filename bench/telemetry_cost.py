"""What each piece of telemetry a REST charge produces costs, in CPU microseconds, measured
in-process with the services' own set-up (``time.process_time`` over many repetitions).

    .venv/bin/python bench/telemetry_cost.py [--n 20000]

A charge produces, per process:

- gateway: 1 span (the request's server span), 4 metric updates (``http_requests_total``,
  ``http_request_duration_seconds``, ``grpc_client_handled_total``,
  ``grpc_client_handling_seconds``; multiprocess mode with several workers), 1 JSON log line
  (the access log), 1 trace context injected into the backend call;
- billing-svc: 3 spans (the RPC's server span, ``billing.charge``, the ledger query),
  3 metric updates (``grpc_server_handled_total``, ``grpc_server_handling_seconds``,
  ``billing_charge_total``), no log line.

Spans are timed three ways: created and ended with no processor (as ``make run`` does
without an OTLP endpoint), with a batch processor handing them to an exporter that drops
them (the queueing a deployment pays in the request), and the OTLP encoding the exporter's
thread then does per span (paid in the same process, off the request). Never part of the
test run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from prometheus_client import CollectorRegistry, Counter, Histogram

from tollgate_kit.logs import configure_logging, get_logger
from tollgate_kit.metrics import LATENCY_BUCKETS


class _Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def per_call_us(action: Callable[[], object], n: int) -> float:
    for _ in range(min(n // 10, 1000)):
        action()
    started = time.process_time()
    for _ in range(n):
        action()
    return (time.process_time() - started) / n * 1e6


def span_action(tracer: trace.Tracer) -> Callable[[], object]:
    attributes = {"rpc.system": "grpc", "rpc.service": "s", "rpc.method": "m"}

    def action() -> None:
        span = tracer.start_span("POST /v1/wallet/charges", attributes=attributes)
        span.set_attribute("http.response.status_code", 200)
        span.end()

    return action


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    n = args.n

    bare = TracerProvider()
    batched = TracerProvider()
    batched.add_span_processor(BatchSpanProcessor(_Drop(), max_queue_size=1_000_000))
    span_bare = per_call_us(span_action(bare.get_tracer("bench")), n)
    span_batched = per_call_us(span_action(batched.get_tracer("bench")), n)
    sample = bare.get_tracer("bench").start_span("POST /v1/wallet/charges")
    sample.set_attribute("http.response.status_code", 200)
    sample.end()
    readable: list[ReadableSpan] = [sample] * 512  # type: ignore[list-item]
    encode = per_call_us(lambda: encode_spans(readable).SerializeToString(), max(n // 512, 20))
    encode_per_span = encode / 512
    batched.shutdown()

    trace.set_tracer_provider(bare)
    tracer = trace.get_tracer("bench")
    with tracer.start_as_current_span("parent"):
        inject = per_call_us(lambda: propagate.inject({}), n)
    carrier: dict[str, str] = {}
    with tracer.start_as_current_span("parent"):
        propagate.inject(carrier)
    extract = per_call_us(lambda: propagate.extract(carrier), n)

    registry = CollectorRegistry()
    counter = Counter("c_total", "c", ["a", "b", "c"], registry=registry).labels("x", "y", "z")
    histogram = Histogram("h", "h", ["a", "b"], buckets=LATENCY_BUCKETS, registry=registry)
    child = histogram.labels("x", "y")
    inc = per_call_us(counter.inc, n)
    observe = per_call_us(lambda: child.observe(0.0021), n)

    with tempfile.TemporaryDirectory() as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        from prometheus_client import values

        values.ValueClass = values.get_value_class()
        mp_registry = CollectorRegistry()
        mp_counter = Counter("mc_total", "c", ["a"], registry=mp_registry).labels("x")
        mp_hist = Histogram("mh", "h", ["a"], buckets=LATENCY_BUCKETS, registry=mp_registry)
        mp_child = mp_hist.labels("x")
        mp_inc = per_call_us(mp_counter.inc, n)
        mp_observe = per_call_us(lambda: mp_child.observe(0.0021), n)
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]

    devnull = open(os.devnull, "w")  # noqa: SIM115 - the log's stdout for the whole run
    stdout, sys.stdout = sys.stdout, devnull
    try:
        configure_logging("bench", "INFO")
        log = get_logger("bench")
        line = per_call_us(
            lambda: log.info(
                "http_request",
                method="POST",
                route="/v1/wallet/charges",
                status=200,
                duration_ms=2.345,
            ),
            n,
        )
    finally:
        sys.stdout = stdout
        devnull.close()

    print(f"CPU µs per item ({n:,} repetitions each, one run)")
    print(f"  span, no processor (make run without OTLP)   {span_bare:6.1f}")
    print(f"  span, batch processor (a deployment)          {span_batched:6.1f}")
    print(f"  OTLP encoding per exported span (its thread)  {encode_per_span:6.1f}")
    print(f"  trace context inject / extract                {inject:6.1f} / {extract:.1f}")
    print(f"  counter inc / histogram observe               {inc:6.1f} / {observe:.1f}")
    print(f"  the same, multiprocess mode (gateway workers) {mp_inc:6.1f} / {mp_observe:.1f}")
    print(f"  one JSON log line (structlog, to /dev/null)   {line:6.1f}")
    gateway = span_batched + encode_per_span + inject + 2 * (mp_inc + mp_observe) + line
    billing = 3 * (span_batched + encode_per_span) + extract + 2 * inc + observe
    print()
    print(f"per charge, exported: gateway ≈ {gateway:.0f} µs (1 span, 4 metrics, 1 log line)")
    print(f"                      billing ≈ {billing:.0f} µs (3 spans, 3 metrics)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
