"""Settings base: one pydantic-settings class per service, read from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tollgate_kit.mtls import ServiceTls


class ServiceSettings(BaseSettings):
    """Fields every gRPC service has. Subclasses set ``env_prefix`` (``AUTH_``, ``BILLING_`` …)
    and their own port defaults; nothing is read until a settings object is built in
    ``bootstrap`` / ``__main__``."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "tollgate"
    grpc_host: str = "0.0.0.0"
    grpc_port: int = Field(default=0, ge=0, le=65535)
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=0, ge=0, le=65535)
    log_level: str = "INFO"
    # How long in-flight RPCs may run on after SIGTERM before they are cancelled.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    # A client connection is asked to go (GOAWAY; calls in flight get 30 s more) after this
    # long, so clients re-resolve the service's name and spread over replicas added since
    # (HPA): a long-lived HTTP/2 connection otherwise stays on the pods it first found.
    grpc_max_connection_age_seconds: float = Field(default=300.0, gt=0)
    # Mutual TLS between services (tollgate_kit.mtls): the deployment's CA and this service's
    # certificate (common name = service name) and key, PEM. All three or none (plaintext).
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # gRPC server reflection lists every method to whoever connects: off unless wanted.
    grpc_reflection: bool = False

    def service_tls(self) -> ServiceTls | None:
        """This service's mutual-TLS material, or None when TLS is off."""
        return ServiceTls.load(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)
