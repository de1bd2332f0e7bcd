"""The one place where billing-svc's real adapters are wired to its handlers."""

from __future__ import annotations

import grpc
from opentelemetry import trace
from prometheus_client import CollectorRegistry

from billing_svc.api import BillingMetrics, BillingServicer
from billing_svc.api.lifecycle import WalletLifecycleServicer
from billing_svc.config import BillingSettings
from billing_svc.store import Ledger, create_ledger_pool
from billing_svc.store.lifecycle import WalletLifecycleStore
from billing_svc.usecases.ledger import Wallets
from billing_svc.usecases.lifecycle import WalletLifecycle
from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate_kit.caller import CallerAuthenticator
from tollgate_kit.db import DatabaseProbe
from tollgate_kit.ended_sessions import EndedSessions
from tollgate_kit.jwks_client import grpc_jwks_fetcher
from tollgate_kit.mtls import open_channel
from tollgate_kit.server import GrpcApp
from tollgate_kit.tokens import JwksCache, TokenVerifier

SERVICE_NAME = billing_pb2.DESCRIPTOR.services_by_name["BillingService"].full_name
LIFECYCLE_SERVICE_NAME = billing_pb2.DESCRIPTOR.services_by_name["WalletLifecycleService"].full_name


async def build(
    settings: BillingSettings, *, tracer_provider: trace.TracerProvider | None = None
) -> GrpcApp:
    """Connect to PostgreSQL, Redis and auth-svc and return the app to serve.

    ``tracer_provider`` defaults to the global one (tests pass their own to capture spans).
    """
    pool = await create_ledger_pool(
        settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        statement_timeout=settings.db_statement_timeout_seconds,
    )
    # Ended sessions arrive on a feed kept in memory: no Redis round trip per call.
    ended = (
        EndedSessions.connect(
            settings.redis_url,
            settings.redis_key_prefix,
            connect_timeout=settings.redis_timeout_seconds,
        )
        if settings.session_check
        else None
    )
    auth_channel = open_channel(settings.auth_addr, settings.service_tls(), "auth")
    verifier = TokenVerifier(
        JwksCache(grpc_jwks_fetcher(auth_channel)),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    if ended is not None:
        await ended.start()
    authenticator = CallerAuthenticator(verifier, ended)

    ledger = Ledger(pool)
    wallets = Wallets(ledger, currency=settings.default_currency, max_amount=settings.max_amount)
    registry = CollectorRegistry()
    provider = tracer_provider or trace.get_tracer_provider()
    servicer = BillingServicer(
        wallets, authenticator, BillingMetrics(registry), provider.get_tracer("billing_svc")
    )

    lifecycle = WalletLifecycleServicer(
        WalletLifecycle(
            WalletLifecycleStore(pool),
            currency=settings.default_currency,
            sign_up_credit=settings.sign_up_credit,
        )
    )

    def register(server: grpc.aio.Server) -> None:
        billing_pb2_grpc.add_BillingServiceServicer_to_server(servicer, server)
        billing_pb2_grpc.add_WalletLifecycleServiceServicer_to_server(lifecycle, server)

    # Not through the pool: a busy pool (charges queued on a locked wallet) is no outage.
    database_ready = DatabaseProbe(settings.database_url)

    async def ready() -> bool:
        return (ended is None or ended.in_sync()) and await database_ready()

    async def on_stop() -> None:
        await pool.close()
        await database_ready.close()
        if ended is not None:
            await ended.aclose()
        await auth_channel.close(None)

    return GrpcApp(
        settings=settings,
        register=register,
        service_names=[SERVICE_NAME, LIFECYCLE_SERVICE_NAME],
        registry=registry,
        ready=ready,
        on_stop=on_stop,
    )
