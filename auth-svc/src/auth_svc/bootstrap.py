"""The one place where auth-svc's real adapters are built and wired to its use cases."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from opentelemetry import trace
from opentelemetry.trace import Tracer

from auth_svc.api.servicer import AuthServicer
from auth_svc.config import AuthSettings
from auth_svc.domain.claims import TokenPolicy
from auth_svc.hashing import PasswordHasher
from auth_svc.metrics import AuthMetrics
from auth_svc.outbox.email_client import GrpcEmailSender, email_channel
from auth_svc.outbox.relay import OutboxRelay, RelayPolicy
from auth_svc.sagas.billing_client import GrpcWallets, billing_channel
from auth_svc.sagas.closure import closure_saga
from auth_svc.sagas.registration import registration_saga
from auth_svc.sagas.runner import AuthSagaRunner
from auth_svc.signing.issuer import TokenIssuer
from auth_svc.signing.keyset import KeySet, load_or_create_keys
from auth_svc.store.account_lifecycle import AccountLifecycleStore
from auth_svc.store.credentials import CredentialStore
from auth_svc.store.mfa import MfaChallengeStore, MfaStore
from auth_svc.store.outbox import OutboxStore
from auth_svc.store.rate_limit import LoginRateLimiter
from auth_svc.store.sessions import SessionStore
from auth_svc.store.users import UserStore
from auth_svc.usecases.accounts import AccountPolicy, AccountService
from auth_svc.usecases.closure import AccountClosure
from auth_svc.usecases.credentials import CredentialPolicy, CredentialService
from auth_svc.usecases.mfa import MfaService
from auth_svc.usecases.sessions import SessionService
from tollgate.auth.v1 import auth_pb2, auth_pb2_grpc
from tollgate_kit.caller import CallerAuthenticator
from tollgate_kit.db import create_pool
from tollgate_kit.redis_client import REDIS_UNREACHABLE, RedisClient, create_redis
from tollgate_kit.saga import RunnerPolicy, SagaMetrics, SagaStore
from tollgate_kit.server import GrpcApp
from tollgate_kit.service import Assembly, Served, assemble
from tollgate_kit.tokens import JwksCache, TokenVerifier

SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name


def local_jwks_cache(keys: KeySet) -> JwksCache:
    """A JWKS cache fed from the service's own keys: no call to itself."""

    async def fetch() -> Sequence[Mapping[str, str]]:
        return keys.jwks()

    return JwksCache(fetch)


async def build(
    settings: AuthSettings, *, tracer_provider: trace.TracerProvider | None = None
) -> GrpcApp:
    """Wire auth-svc's adapters and use cases into the app to serve.

    ``tracer_provider`` defaults to the global one (tests pass their own to capture spans).
    """
    tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("auth_svc")
    return await assemble(settings, lambda parts, s: _wire(parts, s, tracer))


async def _wire(parts: Assembly, settings: AuthSettings, tracer: Tracer) -> GrpcApp:
    keys = await asyncio.to_thread(load_or_create_keys, settings.keys_dir)
    hasher = await PasswordHasher.create(settings.bcrypt_cost)
    parts.opened(hasher, hasher.close)
    pool = await create_pool(settings.database_url, max_size=settings.database_pool_size)
    parts.opened(pool, pool.close)
    parts.database_probe(settings.database_url)
    redis = create_redis(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
    )
    parts.opened(redis, redis.aclose)
    parts.ready_when(lambda: _answers(redis))
    channel = email_channel(settings.email_addr, settings.service_tls())
    parts.opened(channel, lambda: channel.close(grace=None))

    metrics = AuthMetrics(parts.registry)
    jwks = local_jwks_cache(keys)
    await jwks.refresh()
    verifier = TokenVerifier(jwks, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    policy = TokenPolicy(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        access_ttl=settings.access_ttl,
        refresh_ttl=settings.refresh_ttl,
    )
    users = UserStore(pool)
    lifecycle = AccountLifecycleStore(pool)
    billing = billing_channel(settings.billing_addr, settings.service_tls())
    parts.opened(billing, lambda: billing.close(grace=None))
    wallets = GrpcWallets(billing, settings.billing_timeout_seconds)
    saga_runner = AuthSagaRunner(
        SagaStore(pool),
        [],
        SagaMetrics(parts.registry),
        RunnerPolicy(
            poll_interval=settings.saga_poll_seconds,
            batch_size=settings.saga_batch_size,
            lease=settings.saga_lease_seconds,
            step_timeout=settings.saga_step_timeout_seconds,
            retry_base=settings.saga_backoff_base_seconds,
            retry_max=settings.saga_backoff_max_seconds,
        ),
        listen_dsn=settings.database_listen_url or settings.database_url,
        tracer=tracer,
    )
    accounts = AccountService(
        users,
        hasher,
        metrics,
        AccountPolicy(
            public_url=settings.public_url,
            verification_ttl=settings.email_verification_ttl,
            sign_up_wait=settings.sign_up_wait_seconds,
        ),
        saga_runner,
    )
    limiter = LoginRateLimiter(
        redis,
        settings.redis_key_prefix,
        settings.login_rate_limit,
        settings.login_rate_window,
    )
    challenges = MfaChallengeStore(redis, settings.redis_key_prefix)
    sessions = SessionService(
        users=users,
        sessions=SessionStore(
            redis,
            settings.redis_key_prefix,
            settings.refresh_ttl,
            token_ttl=settings.access_ttl,
        ),
        hasher=hasher,
        limiter=limiter,
        issuer=TokenIssuer(keys, policy),
        verifier=verifier,
        metrics=metrics,
        challenges=challenges,
        challenge_ttl=settings.mfa_challenge_ttl,
    )
    credentials = CredentialService(
        users=users,
        credentials=CredentialStore(pool),
        sessions=sessions,
        hasher=hasher,
        limiter=limiter,
        metrics=metrics,
        policy=CredentialPolicy(
            public_url=settings.public_url,
            reset_ttl=settings.password_reset_ttl,
            email_change_ttl=settings.email_change_ttl,
        ),
    )
    mfa = MfaService(
        users=users,
        factors=MfaStore(pool),
        challenges=challenges,
        sessions=sessions,
        credentials=credentials,
        hasher=hasher,
        limiter=limiter,
        metrics=metrics,
    )
    email_sender = GrpcEmailSender(channel, settings.outbox_send_timeout_seconds)
    saga_runner.define(
        registration_saga(wallets, lifecycle),
        closure_saga(wallets, lifecycle, sessions, email_sender),
    )
    servicer = AuthServicer(
        accounts=accounts,
        sessions=sessions,
        keys=keys,
        closure=AccountClosure(
            users,
            lifecycle,
            wallets,
            hasher,
            saga_runner,
            wait=settings.close_account_wait_seconds,
        ),
        credentials=credentials,
        mfa=mfa,
        # The sessions' owner looks its callers' sessions up in Redis itself.
        caller=CallerAuthenticator(verifier, redis=redis, key_prefix=settings.redis_key_prefix),
    )
    relay = OutboxRelay(
        OutboxStore(pool),
        email_sender,
        metrics,
        RelayPolicy(
            poll_interval=settings.outbox_poll_seconds,
            batch_size=settings.outbox_batch_size,
            lease=settings.outbox_lease_seconds,
            retry_base=settings.outbox_backoff_base_seconds,
            retry_max=settings.outbox_backoff_max_seconds,
            retention=settings.outbox_retention,
        ),
        listen_dsn=settings.database_listen_url or settings.database_url,
        tracer=tracer,
    )
    return parts.app(
        [Served(SERVICE_NAME, auth_pb2_grpc.add_AuthServiceServicer_to_server, servicer)],
        background=[relay.run, saga_runner.run],
    )


async def _answers(redis: RedisClient) -> bool:
    try:
        await redis.ping()
    except REDIS_UNREACHABLE:
        return False
    return True
