"""auth-svc settings, read from ``AUTH_*`` environment variables when built (never at import)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from tollgate_kit.settings import ServiceSettings

# auth-svc/migrations, next to src/ in the checkout.
DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", frozen=True)

    service_name: str = "auth-svc"
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    http_port: int = Field(default=9101, ge=0, le=65535)

    database_url: str = "postgresql://postgres@127.0.0.1:5432/auth"
    database_pool_size: int = Field(default=10, ge=1)
    migrations_dir: Path = DEFAULT_MIGRATIONS_DIR
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "tollgate:"

    jwt_issuer: str = "tollgate-auth"
    jwt_audience: str = "tollgate"
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)
    # Ed25519 private keys (PKCS#8 PEM, one per ``*.pem``); the last by file name signs.
    keys_dir: Path = Path(".data/auth/keys")
    bcrypt_cost: int = Field(default=12, ge=4, le=31)

    # Base of links in mail (the gateway serves the web app under /app).
    public_url: str = "http://127.0.0.1:8080"
    email_addr: str = "127.0.0.1:50053"
    email_verification_ttl: timedelta = timedelta(hours=48)

    # Login attempts per (email, client address) within the window; more → RESOURCE_EXHAUSTED.
    login_rate_limit: int = Field(default=10, ge=1)
    login_rate_window: timedelta = timedelta(minutes=1)

    # Outbox relay: how often it looks for due rows when no NOTIFY woke it, rows per claim,
    # per-send deadline, the lease a claimed row is hidden from other replicas for, and the
    # exponential backoff (with jitter) between attempts.
    outbox_poll_interval: float = Field(default=1.0, gt=0)
    outbox_batch_size: int = Field(default=20, ge=1)
    outbox_send_timeout: float = Field(default=10.0, gt=0)
    outbox_lease: float = Field(default=60.0, gt=0)
    outbox_retry_base: float = Field(default=1.0, gt=0)
    outbox_retry_max: float = Field(default=600.0, gt=0)
    # Delivered and dead rows are deleted after this long.
    outbox_retention: timedelta = timedelta(days=7)
