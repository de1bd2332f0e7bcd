"""auth-svc settings, read from ``AUTH_*`` environment variables when built (never at import)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from tollgate_kit.settings import ServiceSettings

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", frozen=True)

    service_name: str = "auth-svc"
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    http_port: int = Field(default=9101, ge=0, le=65535)

    database_url: str = "postgresql://postgres@127.0.0.1:5432/auth"
    database_pool_size: int = Field(default=10, ge=1)
    # LISTEN (the outbox relay's and saga runner's wake-ups) needs a session of its own: when
    # database_url goes through a pooler in transaction mode, this names PostgreSQL itself.
    # Unset: database_url. Without either the loops still poll.
    database_listen_url: str = ""
    # Alembic scripts; unset means the package's own (tollgate_kit.db.migrations_dir).
    migrations_dir: Path | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "tollgate:"
    # A Redis command (or connect) taking longer fails as unreachable (UNAVAILABLE / 503):
    # a stalled server must not hold requests until their deadline.
    redis_timeout_seconds: float = Field(default=1.0, gt=0)

    jwt_issuer: str = "tollgate-auth"
    jwt_audience: str = "tollgate"
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)
    # Ed25519 private keys (PKCS#8 PEM, one per ``*.pem``); the last by file name signs.
    keys_dir: Path = Path(".data/auth/keys")
    bcrypt_cost: int = Field(default=12, ge=4, le=31)

    # Base of links in mail (the gateway serves the web app under /app).
    public_url: str = DEFAULT_PUBLIC_URL
    email_addr: str = "127.0.0.1:50053"
    email_verification_ttl: timedelta = timedelta(hours=48)
    # Password-reset links, email-change links and a login's second-factor challenge.
    password_reset_ttl: timedelta = timedelta(minutes=30)
    email_change_ttl: timedelta = timedelta(hours=24)
    mfa_challenge_ttl: timedelta = timedelta(minutes=5)

    # Login attempts per (email, client address) within the window; more → RESOURCE_EXHAUSTED.
    login_rate_limit: int = Field(default=10, ge=1)
    login_rate_window: timedelta = timedelta(minutes=1)

    # Outbox relay: how often it looks for due rows when no NOTIFY woke it, rows per claim,
    # per-send deadline, the lease a claimed row is hidden from other replicas for, and the
    # exponential backoff (with jitter) between attempts.
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_batch_size: int = Field(default=20, ge=1)
    outbox_send_timeout_seconds: float = Field(default=10.0, gt=0)
    outbox_lease_seconds: float = Field(default=60.0, gt=0)
    outbox_backoff_base_seconds: float = Field(default=1.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=600.0, gt=0)
    # Delivered and dead rows are deleted after this long.
    outbox_retention: timedelta = timedelta(days=7)

    # billing-svc (WalletLifecycleService) for the sign-up and closure sagas.
    billing_addr: str = "127.0.0.1:50052"
    billing_timeout_seconds: float = Field(default=5.0, gt=0)
    # Saga runner (tollgate_kit.saga): polling when no NOTIFY woke it, sagas per claim, the
    # lease a claimed saga is hidden from other replicas for (renewed at every step), one
    # step's time limit, and the backoff (with jitter) between attempts of a failing step.
    saga_poll_seconds: float = Field(default=1.0, gt=0)
    saga_batch_size: int = Field(default=10, ge=1)
    saga_lease_seconds: float = Field(default=60.0, gt=0)
    saga_step_timeout_seconds: float = Field(default=20.0, gt=0)
    saga_backoff_base_seconds: float = Field(default=1.0, gt=0)
    saga_backoff_max_seconds: float = Field(default=300.0, gt=0)
    # Register waits this long for the sign-up saga (ACTIVE) before answering PENDING;
    # CloseAccount waits this long for CLOSED before answering CLOSING (HTTP 202).
    sign_up_wait_seconds: float = Field(default=2.0, ge=0)
    close_account_wait_seconds: float = Field(default=5.0, ge=0)

    @field_validator(
        "access_ttl",
        "refresh_ttl",
        "email_verification_ttl",
        "password_reset_ttl",
        "email_change_ttl",
        "mfa_challenge_ttl",
        "login_rate_window",
        "outbox_retention",
        mode="before",
    )
    @classmethod
    def _seconds_or_iso_duration(cls, value: object) -> object:
        """Durations from the environment: plain seconds (``900``) or ISO 8601 (``PT15M``)."""
        if isinstance(value, str):
            try:
                return timedelta(seconds=float(value))
            except ValueError:
                return value
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_public_url(cls, value: str) -> str:
        # The launcher passes an empty value when it runs no gateway.
        value = value.strip() or DEFAULT_PUBLIC_URL
        if not value.startswith(("http://", "https://")):
            raise ValueError("public_url must be an absolute http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> AuthSettings:
        # A row whose lease ends while its send is still running could be sent twice.
        if self.outbox_lease_seconds <= self.outbox_send_timeout_seconds:
            raise ValueError("outbox_lease_seconds must exceed outbox_send_timeout_seconds")
        if self.access_ttl >= self.refresh_ttl:
            raise ValueError("access_ttl must be shorter than refresh_ttl")
        # A saga whose lease ends while a step still runs could run that step twice at once.
        if self.saga_step_timeout_seconds >= self.saga_lease_seconds:
            raise ValueError("saga_step_timeout_seconds must be below saga_lease_seconds")
        if max(self.billing_timeout_seconds, self.outbox_send_timeout_seconds) >= (
            self.saga_step_timeout_seconds
        ):
            raise ValueError(
                "billing_timeout_seconds and outbox_send_timeout_seconds must be below"
                " saga_step_timeout_seconds"
            )
        return self
