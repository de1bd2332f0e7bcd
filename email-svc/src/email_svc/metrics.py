"""email-svc's domain counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from email_svc.domain import TEMPLATES

RESULTS = ("sent", "duplicate", "invalid", "rejected", "unavailable", "in_progress", "error")


class EmailMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter(
            "emails_sent",
            "SendEmail outcomes by template: sent, duplicate (already sent), invalid, "
            "rejected (recipient refused), unavailable (SMTP down), in_progress, error.",
            ["template", "result"],
            registry=registry,
        )
        for template in TEMPLATES:
            for result in ("sent", "unavailable"):
                self.sent.labels(template, result)

    def record(self, template: str, result: str) -> None:
        # Unknown names come from callers: one label keeps the series count bounded.
        name = template if template in TEMPLATES else "unknown"
        self.sent.labels(name, result).inc()
