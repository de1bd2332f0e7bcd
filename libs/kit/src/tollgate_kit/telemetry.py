"""OpenTelemetry tracing configured from the standard OTEL_* environment variables."""

from __future__ import annotations

import importlib.util
import os

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def _otlp_endpoint_configured() -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def tracing_disabled() -> bool:
    """``OTEL_SDK_DISABLED=true``: the standard switch that turns the SDK into no-ops."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def configure_telemetry(
    service: str, extra_processors: list[SpanProcessor] | None = None
) -> TracerProvider:
    """Install a global tracer provider for ``service``.

    An OTLP exporter is attached only when an OTLP endpoint is set, so a laptop or a test
    without a collector gets valid trace ids in logs and no export errors.
    ``OTEL_SDK_DISABLED=true`` leaves a provider with no processors at all and makes
    :func:`instrument_clients` a no-op, so tracing costs nothing on the hot path.
    Sampling follows ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` (read by the SDK).
    """
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service)})
    provider = TracerProvider(resource=resource)
    if not tracing_disabled() and _otlp_endpoint_configured():
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    for processor in extra_processors or []:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return provider


def instrument_clients() -> None:
    """Trace asyncpg queries and Redis commands as children of the current span.

    Each client is instrumented when the kit extra that brings it (``db``, ``redis``) is
    installed: email-svc's image has no Redis client, and nothing to trace there.
    """
    if tracing_disabled():
        return
    if importlib.util.find_spec("asyncpg") is not None:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        asyncpg_instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
        if not asyncpg_instrumentor.is_instrumented_by_opentelemetry:
            asyncpg_instrumentor.instrument()
    if importlib.util.find_spec("redis") is not None:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        if not RedisInstrumentor().is_instrumented_by_opentelemetry:
            RedisInstrumentor().instrument()
