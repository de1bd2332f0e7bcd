"""Prometheus metrics of the gateway: HTTP RED by route template, and backend calls.

With several uvicorn workers, each worker is its own process and a scrape reaches just
one of them, so per-process counters would be wrong. ``python -m gateway`` then sets
``PROMETHEUS_MULTIPROC_DIR`` before any worker starts (prometheus_client's multiprocess
mode: every process writes its samples to files there) and ``/metrics`` aggregates all
workers' files. With one worker the metrics live in memory in a private registry.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

from tollgate_kit.metrics import LATENCY_BUCKETS

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.grpc_handled = Counter(
            "grpc_client_handled_total",
            "Backend RPCs completed by the gateway, by method and gRPC status code.",
            ["grpc_service", "grpc_method", "grpc_code"],
            registry=self.registry,
        )
        self.grpc_latency = Histogram(
            "grpc_client_handling_seconds",
            "Backend RPC latency seen by the gateway.",
            ["grpc_service", "grpc_method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Label children are looked up once per label set, not per request.
        self._http: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._grpc: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def observe_http(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._http.get(key)
        if children is None:
            children = (
                self.http_requests.labels(route, method, str(status)),
                self.http_duration.labels(route, method),
            )
            self._http[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_grpc(self, full_method: str, code: str, seconds: float) -> None:
        key = (full_method, code)
        children = self._grpc.get(key)
        if children is None:
            _, service, method = full_method.split("/", 2)
            children = (
                self.grpc_handled.labels(service, method, code),
                self.grpc_latency.labels(service, method),
            )
            self._grpc[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        """The exposition text: every worker's samples in multiprocess mode."""
        if multiprocess_mode():
            registry = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
