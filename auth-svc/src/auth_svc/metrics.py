"""auth-svc's domain metrics, registered in the service's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTER_RESULTS = ("success", "invalid_email", "invalid_password", "email_taken", "error")
LOGIN_RESULTS = ("success", "mfa_required", "invalid_credentials", "rate_limited", "error")
REFRESH_RESULTS = ("success", "invalid_token", "reused", "session_ended", "error")
DELIVERY_RESULTS = ("delivered", "retry", "rejected")
# The account-security flows (auth_credential_changes{flow, result}) and the outcomes each
# series starts at 0 with; refusals count under their error reason, lower-cased.
CREDENTIAL_FLOWS: dict[str, tuple[str, ...]] = {
    "password_reset_request": ("sent", "unknown_email", "too_many_login_attempts", "error"),
    "password_reset": ("success", "reset_token_invalid", "invalid_password", "error"),
    "password_change": ("success", "invalid_credentials", "invalid_password", "error"),
    "email_change_request": ("sent", "taken", "invalid_credentials", "invalid_email", "error"),
    "email_change": ("success", "email_change_token_invalid", "email_taken", "error"),
    "mfa_enroll": ("success", "mfa_already_enabled", "error"),
    "mfa_confirm": ("success", "mfa_code_invalid", "error"),
    "mfa_disable": ("success", "invalid_credentials", "mfa_code_invalid", "error"),
    "mfa_login": ("totp", "recovery_code", "mfa_code_invalid", "mfa_challenge_invalid", "error"),
}


class AuthMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.register = Counter(
            "auth_register",
            "Registrations, by result.",
            ["result"],
            registry=registry,
        )
        self.login = Counter(
            "auth_login",
            "Login attempts, by outcome.",
            ["result"],
            registry=registry,
        )
        self.refresh = Counter(
            "auth_refresh",
            "Refresh-token rotations, by outcome (reused = reuse detected, session revoked).",
            ["result"],
            registry=registry,
        )
        self.outbox_depth = Gauge(
            "auth_outbox_depth",
            "Outbox messages waiting for delivery (not delivered, not dead-lettered).",
            registry=registry,
        )
        self.outbox_attempts = Counter(
            "auth_outbox_delivery_attempts",
            "Outbox delivery attempts to email-svc, by result (rejected = dead-lettered).",
            ["result"],
            registry=registry,
        )
        self.outbox_relay_errors = Counter(
            "auth_outbox_relay_errors",
            "Relay rounds that failed (database or bug); the relay retries on its next round.",
            registry=registry,
        )
        self.credentials = Counter(
            "auth_credential_changes",
            "Password reset, password and email change and second-factor flows, by outcome.",
            ["flow", "result"],
            registry=registry,
        )
        for flow, outcomes in CREDENTIAL_FLOWS.items():
            for outcome in outcomes:
                self.credentials.labels(flow, outcome)
        # Every series exists from the start, so rates and alerts see a 0 before the first 1.
        for counter, results in (
            (self.register, REGISTER_RESULTS),
            (self.login, LOGIN_RESULTS),
            (self.refresh, REFRESH_RESULTS),
            (self.outbox_attempts, DELIVERY_RESULTS),
        ):
            for result in results:
                counter.labels(result)
