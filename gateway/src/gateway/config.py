"""Gateway settings, read from ``GATEWAY_*`` environment variables when built (never at import)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tollgate_kit.mtls import ServiceTls

# web/dist in the checkout: gateway/src/gateway/config.py → the repository root is parents[3].
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[3] / "web" / "dist"

StrList = Annotated[list[str], NoDecode]


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    service_name: str = "gateway"
    log_level: str = "INFO"
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=0, le=65535)
    # uvicorn worker processes; 1 serves in-process.
    workers: int = Field(default_factory=_default_workers, ge=1)

    auth_addr: str = "127.0.0.1:50051"
    billing_addr: str = "127.0.0.1:50052"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "tollgate:"
    # A Redis command (or connect) taking longer fails as unreachable (UNAVAILABLE / 503):
    # a stalled server must not hold requests until their deadline.
    redis_timeout_seconds: float = Field(default=1.0, gt=0)

    # Mutual TLS to the backends (tollgate_kit.mtls): the deployment's CA and the gateway's
    # certificate (common name "gateway") and key. All three or none (plaintext).
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    jwt_issuer: str = "tollgate-auth"
    jwt_audience: str = "tollgate"
    # An unknown `kid` refetches the JWKS at most this often.
    jwks_min_refetch_seconds: float = Field(default=30.0, ge=0)

    # Origins allowed to call the API from a browser (exact matches; "*" for any).
    cors_allow_origins: StrList = Field(default_factory=list)
    body_limit_bytes: int = Field(default=1024 * 1024, ge=0)
    # On SIGTERM: how long in-flight requests get before connections are closed.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    # Deadline of a backend call when the request has no Grpc-Timeout header.
    default_deadline_seconds: float = Field(default=10.0, gt=0)
    # The longest deadline a client's Grpc-Timeout header may ask for.
    max_deadline_seconds: float = Field(default=300.0, gt=0)
    # The shortest: a deadline of microseconds fails every call as a server-side
    # DEADLINE_EXCEEDED, so anyone could drive the 5xx share (and the alerts on it) up.
    min_deadline_seconds: float = Field(default=1.0, gt=0)
    # Connections (and requests) one worker serves at once; past it, new ones get 503 instead
    # of memory: connections that send their headers slowly, byte by byte, are otherwise
    # held without limit. uvicorn (httptools) has no header size limit or header timeout,
    # so the gateway belongs behind a proxy or ingress that has both (deploy/README.md).
    max_concurrency: int = Field(default=1000, ge=1)
    # grpc-gateway answers 501 for a known path with the wrong method; RFC 9110 says 405.
    method_not_allowed_status: Literal[405, 501] = 405
    grpc_keepalive_seconds: float = Field(default=60.0, gt=0)

    # Per-user limit on API calls (GCRA: a steady rate plus a burst), shared through Redis.
    rate_limit_per_minute: int = Field(default=600, ge=1)
    rate_limit_burst: int = Field(default=60, ge=1)
    # Stricter limit on login/register per client address + email.
    login_rate_limit_per_minute: int = Field(default=10, ge=1)
    login_rate_limit_burst: int = Field(default=5, ge=1)
    # And per client address over all emails, so rotating emails cannot spray passwords (each
    # attempt costs auth-svc a bcrypt hash).
    login_address_rate_limit_per_minute: int = Field(default=60, ge=1)
    login_address_rate_limit_burst: int = Field(default=20, ge=1)
    # Requests that fail authentication (no token, or an invalid one), per client address:
    # past it, 429 instead of 401 (gateway/auth_failures.py).
    unauthenticated_rate_limit_per_minute: int = Field(default=60, ge=1)
    unauthenticated_rate_limit_burst: int = Field(default=30, ge=1)

    # Root fields (aliases included) one GraphQL operation may select: each is a backend
    # call, and the whole request pays one rate-limit token.
    graphql_max_root_fields: int = Field(default=10, ge=1)
    # Fields one GraphQL operation may select in all, fragments expanded (introspection
    # included): what bounds the work and the size of one answer. The full introspection
    # query of GraphiQL selects a few hundred.
    graphql_max_fields: int = Field(default=1000, ge=1)

    # The built React app served at /app.
    web_dir: Path = DEFAULT_WEB_DIR
    # Addresses or CIDRs of proxies whose X-Forwarded-For entries are believed.
    trusted_proxies: StrList = Field(default_factory=list)
    # Serve /metrics and /readyz also to requests that came through a trusted proxy (the
    # public side of an ingress); by default only peers that reach the gateway directly.
    ops_through_proxies: bool = False
    # How long a /readyz answer is reused.
    readiness_cache_seconds: float = Field(default=1.0, ge=0)

    @field_validator("cors_allow_origins", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """Accept ``a,b`` as well as a JSON list (``["a","b"]``) from the environment."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    def service_tls(self) -> ServiceTls | None:
        """The gateway's mutual-TLS material for its backends, or None when TLS is off."""
        return ServiceTls.load(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)
