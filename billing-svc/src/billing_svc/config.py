"""billing-svc settings, read from ``BILLING_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from billing_svc.domain.money import JSON_SAFE_INTEGER
from tollgate_kit.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore", frozen=True)

    service_name: str = "billing-svc"
    grpc_port: int = Field(default=50052, ge=0, le=65535)
    http_port: int = Field(default=9102, ge=0, le=65535)

    database_url: str = "postgresql://postgres@127.0.0.1:5432/billing"
    # Alembic scripts; unset means the package's own (tollgate_kit.db.migrations_dir).
    migrations_dir: Path | None = None
    db_pool_min_size: int = Field(default=2, ge=1)
    db_pool_max_size: int = Field(default=20, ge=1)
    # A ledger statement running (or waiting on a wallet's lock) longer is cancelled and the
    # call answers UNAVAILABLE: an admin's lock or a stuck transaction cannot hold every
    # pooled connection, whatever deadline (or none) callers set.
    db_statement_timeout_seconds: float = Field(default=10.0, gt=0)

    # The session check: a token is accepted only while its session key exists in Redis.
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "tollgate:"
    # A Redis command (or connect) taking longer fails as unreachable (UNAVAILABLE / 503):
    # a stalled server must not hold requests until their deadline.
    redis_timeout_seconds: float = Field(default=1.0, gt=0)
    session_check: bool = True

    # auth-svc's gRPC address, for the JWKS that verifies access tokens.
    auth_addr: str = "127.0.0.1:50051"
    jwt_issuer: str = "tollgate-auth"
    jwt_audience: str = "tollgate"

    # Requests carry no currency: every wallet of this deployment is in this one.
    default_currency: str = "USD"
    # Largest amount (minor units) one top-up, charge or refund may move.
    max_amount: int = Field(default=100_000_000, gt=0, le=JSON_SAFE_INTEGER)
    # Credited once to every wallet the sign-up saga opens (minor units; 0: none).
    sign_up_credit: int = Field(default=0, ge=0, le=JSON_SAFE_INTEGER)

    @field_validator("default_currency")
    @classmethod
    def _iso_4217(cls, value: str) -> str:
        if len(value) != 3 or not value.isascii() or not value.isalpha() or not value.isupper():
            raise ValueError("default_currency must be an upper-case ISO 4217 code like USD")
        return value
