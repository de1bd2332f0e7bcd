"""email-svc settings, read from ``EMAIL_*`` environment variables."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from email_svc.smtp import SmtpSecurity
from tollgate_kit.settings import ServiceSettings

DEFAULT_SENDER = "Tollgate <no-reply@tollgate.local>"


class EmailSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EMAIL_")

    service_name: str = "email-svc"
    grpc_port: int = Field(default=50053, ge=0, le=65535)
    http_port: int = Field(default=9103, ge=0, le=65535)

    # The idempotency record lives in PostgreSQL (database `email`): it must outlive restarts,
    # Redis eviction and flushes, and it doubles as the lock that keeps one send per id.
    database_url: str = "postgresql://postgres@127.0.0.1:5432/email"
    db_pool_min_size: int = Field(default=1, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    # Alembic scripts; unset means the package's own (tollgate_kit.db.migrations_dir).
    migrations_dir: Path | None = None

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    # Bound on one whole SMTP exchange (connect to QUIT).
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    smtp_security: SmtpSecurity = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # Credentials over an unencrypted connection cross the network in clear text: refused
    # unless this says the network is trusted (a local relay, a dev catcher).
    smtp_allow_plaintext_auth: bool = False
    sender: str = DEFAULT_SENDER

    # How long one send may hold its message id (the lease); longer than the SMTP timeout.
    send_lease_seconds: float = Field(default=60.0, gt=0)
    # How long a duplicate call waits for a concurrent send of the same id to finish.
    busy_wait_seconds: float = Field(default=15.0, ge=0)
    # How long the record of a send (with its recipient's address) is kept: the window in
    # which a repeated message id is recognised as a duplicate. Far longer than any caller
    # retries one message (auth's outbox gives up on none, but retries within minutes).
    send_log_retention: timedelta = timedelta(days=30)
    send_log_purge_interval_seconds: float = Field(default=3600.0, gt=0)

    @field_validator("sender")
    @classmethod
    def _sender_is_an_address(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or "\n" in value or "\r" in value:
            raise ValueError("sender must be an address like 'Tollgate <no-reply@example.com>'")
        return value

    @model_validator(mode="after")
    def _credentials_are_complete_and_protected(self) -> EmailSettings:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("smtp_username and smtp_password go together")
        if (
            self.smtp_username is not None
            and self.smtp_security == "none"
            and not self.smtp_allow_plaintext_auth
        ):
            raise ValueError(
                "SMTP credentials would cross the network in clear text: set smtp_security to "
                "starttls or tls (or smtp_allow_plaintext_auth=true on a trusted network)"
            )
        return self

    @model_validator(mode="after")
    def _lease_outlasts_smtp(self) -> EmailSettings:
        if self.send_lease_seconds <= self.smtp_timeout_seconds:
            raise ValueError("send_lease_seconds must be longer than smtp_timeout_seconds")
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("db_pool_min_size must not exceed db_pool_max_size")
        return self
