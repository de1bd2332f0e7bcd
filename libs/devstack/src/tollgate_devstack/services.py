"""The services of the suite, as the launcher starts them."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    env_prefix: str
    default_grpc_port: int | None
    default_http_port: int
    database: str | None = None
    redis: bool = False

    def exists(self) -> bool:
        """True when the service's package has an entry point in this checkout."""
        try:
            return importlib.util.find_spec(f"{self.module}.__main__") is not None
        except ModuleNotFoundError:
            return False


# Start order: the gateway last, since it needs the others to report ready.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("email", "email_svc", "EMAIL_", 50053, 9103, database="email"),
    ServiceSpec("auth", "auth_svc", "AUTH_", 50051, 9101, database="auth", redis=True),
    ServiceSpec("billing", "billing_svc", "BILLING_", 50052, 9102, database="billing", redis=True),
    ServiceSpec("gateway", "gateway", "GATEWAY_", None, 8080, redis=True),
)


def available_services() -> list[ServiceSpec]:
    return [spec for spec in SERVICES if spec.exists()]
