"""The one place where billing-svc's real adapters are wired to its handlers."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import Tracer

from billing_svc.api import BillingMetrics, BillingServicer
from billing_svc.api.lifecycle import WalletLifecycleServicer
from billing_svc.config import BillingSettings
from billing_svc.store import Ledger, create_ledger_pool
from billing_svc.store.lifecycle import WalletLifecycleStore
from billing_svc.usecases.ledger import Wallets
from billing_svc.usecases.lifecycle import WalletLifecycle
from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate_kit.caller import CallerAuthenticator
from tollgate_kit.ended_sessions import EndedSessions
from tollgate_kit.jwks_client import grpc_jwks_fetcher
from tollgate_kit.mtls import open_channel
from tollgate_kit.server import GrpcApp
from tollgate_kit.service import Assembly, Served, assemble
from tollgate_kit.tokens import JwksCache, TokenVerifier

SERVICE_NAME = billing_pb2.DESCRIPTOR.services_by_name["BillingService"].full_name
LIFECYCLE_SERVICE_NAME = billing_pb2.DESCRIPTOR.services_by_name["WalletLifecycleService"].full_name


async def build(
    settings: BillingSettings, *, tracer_provider: trace.TracerProvider | None = None
) -> GrpcApp:
    """Connect to PostgreSQL, Redis and auth-svc and return the app to serve.

    ``tracer_provider`` defaults to the global one (tests pass their own to capture spans).
    """
    tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("billing_svc")
    return await assemble(settings, lambda parts, s: _wire(parts, s, tracer))


async def _wire(parts: Assembly, settings: BillingSettings, tracer: Tracer) -> GrpcApp:
    pool = await create_ledger_pool(
        settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        statement_timeout=settings.db_statement_timeout_seconds,
    )
    parts.opened(pool, pool.close)
    parts.database_probe(settings.database_url)
    auth_channel = open_channel(settings.auth_addr, settings.service_tls(), "auth")
    parts.opened(auth_channel, lambda: auth_channel.close(None))
    verifier = TokenVerifier(
        JwksCache(grpc_jwks_fetcher(auth_channel)),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    # Ended sessions arrive on a feed kept in memory: no Redis round trip per call.
    ended = None
    if settings.session_check:
        ended = EndedSessions.connect(
            settings.redis_url,
            settings.redis_key_prefix,
            connect_timeout=settings.redis_timeout_seconds,
        )
        parts.opened(ended, ended.aclose)
        await ended.start()
        feed = ended
        parts.ready_when(lambda: _in_sync(feed))
    authenticator = CallerAuthenticator(verifier, ended)

    wallets = Wallets(
        Ledger(pool), currency=settings.default_currency, max_amount=settings.max_amount
    )
    servicer = BillingServicer(wallets, authenticator, BillingMetrics(parts.registry), tracer)
    lifecycle = WalletLifecycleServicer(
        WalletLifecycle(
            WalletLifecycleStore(pool),
            currency=settings.default_currency,
            sign_up_credit=settings.sign_up_credit,
        )
    )
    return parts.app(
        [
            Served(SERVICE_NAME, billing_pb2_grpc.add_BillingServiceServicer_to_server, servicer),
            Served(
                LIFECYCLE_SERVICE_NAME,
                billing_pb2_grpc.add_WalletLifecycleServiceServicer_to_server,
                lifecycle,
            ),
        ]
    )


async def _in_sync(ended: EndedSessions) -> bool:
    return ended.in_sync()
