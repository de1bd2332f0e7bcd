"""Mutual TLS between the services. With it on, every gRPC server asks for a client
certificate signed by the deployment's CA and every client presents its own; the certificate's
common name is the caller's service name (``gateway``, ``auth``, ``billing``, ``email``), and
each server lets only the services it names call it (:class:`CallerPolicy`). Off (no files
configured), channels and ports are plaintext and the network is the only boundary.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

# Every verified peer may ask whether a service is up (the gateway's /readyz does).
_OPEN_TO_ALL_PEERS = ("/grpc.health.v1.Health/",)


@dataclass(frozen=True)
class ServiceTls:
    """This service's certificate and key, and the CA its peers' certificates must chain to."""

    ca: bytes
    cert: bytes
    key: bytes

    @classmethod
    def load(
        cls, ca_file: Path | None, cert_file: Path | None, key_file: Path | None
    ) -> ServiceTls | None:
        """None when no file is configured; all three or none, else ``ValueError``."""
        files = (ca_file, cert_file, key_file)
        if all(f is None for f in files):
            return None
        if ca_file is None or cert_file is None or key_file is None:
            raise ValueError("mutual TLS needs TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE")
        return cls(ca_file.read_bytes(), cert_file.read_bytes(), key_file.read_bytes())

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.ca, require_client_auth=True
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert
        )


def open_channel(
    address: str,
    tls: ServiceTls | None,
    server_name: str,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.aio.Channel:
    """A channel to the service ``server_name`` (``auth``, …) at ``address``: with ``tls`` its
    certificate must name that service, whatever address (IP, Kubernetes Service) reaches it.

    Calls spread round-robin over every address the target resolves to: a DNS name with
    several addresses (a headless Service's pods), or a comma-separated list of IP addresses
    with ports (``10.0.0.5:50051,10.0.0.6:50051``, :func:`channel_target`)."""
    options = [("grpc.lb_policy_name", "round_robin"), *options]
    target = channel_target(address)
    if tls is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(
        target,
        tls.channel_credentials(),
        options=[*options, ("grpc.ssl_target_name_override", server_name)],
    )


_TARGET_SCHEMES = frozenset({"dns", "ipv4", "ipv6", "unix", "unix-abstract", "vsock", "xds"})


def channel_target(address: str) -> str:
    """The gRPC target of ``address``: a comma-separated list of replicas' addresses becomes
    gRPC's static ``ipv4:``/``ipv6:`` list (IP addresses only: a name with several replicas is
    a DNS name with several A records); anything else is passed as it is."""
    if address.split(":", 1)[0] in _TARGET_SCHEMES:
        return address  # a gRPC target URI already
    parts = [part.strip() for part in address.split(",") if part.strip()]
    if len(parts) < 2:
        return parts[0] if parts else address
    scheme = "ipv6" if all(part.startswith("[") for part in parts) else "ipv4"
    return f"{scheme}:{','.join(parts)}"


def peer_service(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    """The calling service as its verified certificate names it ("" for a certificate that
    names none); None over plaintext."""
    auth = context.auth_context()
    if auth.get("transport_security_type") != [b"ssl"]:
        return None
    names = list(auth.get("x509_common_name") or ())
    return names[0].decode("utf-8", "replace") if names else ""


Callers = Mapping[str, Collection[str]]

# Who calls whom inside the suite, by certificate name: the one table a reviewer reads.
SUITE_CALLERS: Callers = {
    "tollgate.auth.v1.AuthService": ("gateway",),
    # billing-svc verifies access tokens itself, with the keys auth-svc publishes.
    "/tollgate.auth.v1.AuthService/GetJwks": ("gateway", "billing"),
    "tollgate.billing.v1.BillingService": ("gateway",),
    # The registration and account-closure sagas run in auth-svc.
    "tollgate.billing.v1.WalletLifecycleService": ("auth",),
    # Only auth-svc's outbox relay sends mail: nobody else gets Tollgate-branded mail out.
    "tollgate.email.v1.EmailService": ("auth",),
}


class CallerPolicy(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Lets a call through only when its verified caller is allowed: ``callers`` maps a full
    method (``/pkg.Service/Method``) or a service (``pkg.Service``) to service names; the
    method's entry wins. Health checks are open to every verified peer; anything else not
    listed is refused (PERMISSION_DENIED), reflection included."""

    def __init__(self, callers: Callers) -> None:
        self._callers = {key: frozenset(names) for key, names in callers.items()}
        self._handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def allowed(self, method: str) -> frozenset[str] | None:
        """Who may call ``method``; None means any verified peer."""
        if method.startswith(_OPEN_TO_ALL_PEERS):
            return None
        if method in self._callers:
            return self._callers[method]
        return self._callers.get(method.lstrip("/").split("/", 1)[0], frozenset())

    def guard(
        self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        """``handler`` behind the caller check of ``method`` (the server wraps each method
        once, at registration; see :mod:`tollgate_kit.rpc_handlers`)."""
        allowed = self.allowed(method)
        return handler if allowed is None else _guarded(handler, allowed, method)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        method = handler_call_details.method
        handler = await continuation(handler_call_details)
        allowed = self.allowed(method)
        if handler is None or allowed is None:
            return handler
        cached = self._handlers.get(method)
        if cached is None:
            cached = self._handlers[method] = _guarded(handler, allowed, method)
        return cached


def _guarded(
    handler: grpc.RpcMethodHandler[Any, Any], allowed: frozenset[str], method: str
) -> grpc.RpcMethodHandler[Any, Any]:
    """``handler`` behind the caller check (grpc.aio behaviours are coroutines and async
    generators; the stubs type them as plain functions, hence ``Any``)."""
    inner: Any = handler

    async def check(context: grpc.aio.ServicerContext[Any, Any]) -> None:
        caller = peer_service(context)
        if caller not in allowed:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{caller or 'this caller'} may not call {method}",
            )

    async def one(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await check(context)
        behaviour = inner.unary_unary or inner.stream_unary
        return await behaviour(request, context)

    async def many(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await check(context)
        behaviour = inner.unary_stream or inner.stream_stream
        async for response in behaviour(request, context):
            yield response

    factory: Any
    if inner.unary_unary is not None:
        factory, behaviour = grpc.unary_unary_rpc_method_handler, one
    elif inner.stream_unary is not None:
        factory, behaviour = grpc.stream_unary_rpc_method_handler, one
    elif inner.unary_stream is not None:
        factory, behaviour = grpc.unary_stream_rpc_method_handler, many
    else:
        factory, behaviour = grpc.stream_stream_rpc_method_handler, many
    guarded: grpc.RpcMethodHandler[Any, Any] = factory(
        behaviour,
        request_deserializer=inner.request_deserializer,
        response_serializer=inner.response_serializer,
    )
    return guarded
