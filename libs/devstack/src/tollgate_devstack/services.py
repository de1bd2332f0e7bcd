"""The services of the suite, as the launcher starts them."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
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


def replica_names(service: str, replicas: int) -> list[str]:
    """The process names of a service's replicas: "auth", "auth-2", …"""
    return [service, *(f"{service}-{r}" for r in range(2, replicas + 1))]


def replica_port(default: int, replica: int) -> int:
    """Replica r's default port: the service's, plus ten per replica (50051, 50061, …)."""
    return default + 10 * (replica - 1)


def port_keys(specs: Sequence[ServiceSpec], replicas: int = 1) -> list[str]:
    """Every port a stack of ``specs`` listens on, as keys of ``StackConfig.ports``."""
    keys = ["mailcatcher.smtp", "mailcatcher.http"]
    for spec in specs:
        for name in replica_names(spec.name, replicas):
            keys.append(name + ".http")
            if spec.default_grpc_port is not None:
                keys.append(name + ".grpc")
    return keys
