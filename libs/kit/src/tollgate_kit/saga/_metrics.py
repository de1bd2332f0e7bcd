"""The saga runner's Prometheus series (the stuck-saga alert reads the age gauge)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class SagaMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.started = Counter(
            "saga_started_total", "Sagas started, by kind.", ["kind"], registry=registry
        )
        self.completed = Counter(
            "saga_completed_total",
            "Sagas that ran every step, by kind.",
            ["kind"],
            registry=registry,
        )
        self.compensated = Counter(
            "saga_compensated_total",
            "Sagas whose completed steps were undone after a step failed for good, by kind.",
            ["kind"],
            registry=registry,
        )
        self.failed = Counter(
            "saga_failed_total",
            "Sagas left for a person: a compensation failed for good, by kind.",
            ["kind"],
            registry=registry,
        )
        self.step_duration = Histogram(
            "saga_step_duration_seconds",
            "Time of one attempt of a step (or of its compensation), by kind, step and result.",
            ["kind", "step", "result"],
            buckets=STEP_BUCKETS,
            registry=registry,
        )
        self.oldest_unfinished_age = Gauge(
            "saga_oldest_unfinished_age_seconds",
            "Age of the oldest saga of each kind that has not finished (or failed), 0 if none.",
            ["kind"],
            registry=registry,
        )
        self.runner_errors = Counter(
            "saga_runner_errors_total",
            "Rounds of the runner that failed (database trouble).",
            registry=registry,
        )
