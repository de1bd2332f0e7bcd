"""Wiring: the one place where the gateway's parts are put together.

:func:`build_app` compiles the routes from the services' descriptors, generates the
OpenAPI document and assembles the middleware; the app's lifespan then opens the live
clients (one gRPC channel per backend, Redis, the JWKS cache). :func:`create_app` is
uvicorn's factory (``python -m gateway``): settings from the environment, logging and
tracing set up, in each worker process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from gateway.accesslog import AccessLog
from gateway.app import GatewayApp
from gateway.auth_failures import FailedAuthLimit
from gateway.authn import Authenticator
from gateway.backends import Backend, BackendPool, idempotent_methods
from gateway.config import GatewaySettings
from gateway.gql import GraphQLEndpoint, build_graphql_schema
from gateway.headers import IDEMPOTENCY_KEY, TrustedProxies
from gateway.metrics import GatewayMetrics
from gateway.middleware import (
    AuthMiddleware,
    LoggerMiddleware,
    RateLimitMiddleware,
    RecoverMiddleware,
    RoutingMiddleware,
)
from gateway.openapi_errors import ErrorResponses
from gateway.openapi_examples import EXAMPLES
from gateway.ops import InternalOnly, MetricsEndpoint, Readiness, healthz, readyz
from gateway.ratelimit import LeasedLimiter, LoginRates, Rate, RateLimiter
from gateway.rest import RestHandler
from gateway.routing import Access, Endpoint, Limit, Router, dispatch
from gateway.runtime import Runtime, Serving
from gateway.transcoding import RouteTable, build_openapi, comments_by_name
from gateway.web import AppFiles, DocsPage, GraphiQLPage, OpenApiDocument
from tollgate.auth.v1 import auth_pb2
from tollgate.billing.v1 import billing_pb2
from tollgate_kit.api_errors.auth import AUTH_ERRORS
from tollgate_kit.api_errors.billing import BILLING_ERRORS
from tollgate_kit.ended_sessions import EndedSessions
from tollgate_kit.jwks_client import grpc_jwks_fetcher
from tollgate_kit.logs import configure_logging, get_logger
from tollgate_kit.redis_client import create_redis
from tollgate_kit.telemetry import configure_telemetry
from tollgate_kit.tokens import JwksCache, TokenVerifier

log = get_logger(__name__)

AUTH_SERVICE = auth_pb2.DESCRIPTOR.services_by_name["AuthService"]
# The contracts' descriptor set with their comments (`make gen` writes it beside the code).
DESCRIPTOR_SET = Path(auth_pb2.__file__).resolve().parents[2] / "descriptors.binpb"
BILLING_SERVICE = billing_pb2.DESCRIPTOR.services_by_name["BillingService"]
_AUTH = AUTH_SERVICE.full_name
PUBLIC_METHODS = frozenset(
    f"{_AUTH}.{name}" for name in ("Register", "Login", "Refresh", "VerifyEmail", "GetJwks")
)
LOGIN_METHODS = frozenset(f"{_AUTH}.{name}" for name in ("Register", "Login"))
API_VERSION = "v1"
API_DESCRIPTION = """Tollgate's public API: sign-up and sessions (AuthService) and a wallet per \
user (BillingService), transcoded by the gateway from the gRPC contracts in `proto/`.

- **JSON** as protojson writes it: lowerCamelCase names, 64-bit integers as decimal strings \
(amounts are minor units, e.g. cents), enums by name, timestamps in RFC 3339.
- **Authentication:** `Authorization: Bearer <accessToken>` from `POST /v1/auth/login`; \
refresh it with `POST /v1/auth/refresh` before `expiresIn` seconds pass.
- **Idempotency:** money calls need an `Idempotency-Key` header; a retry with the same key \
and request returns the first answer without moving money again.
- **Errors:** a `google.rpc.Status` (`code`, `message`, `details`) whose `ErrorInfo.reason` is \
the machine-readable cause; each operation lists the HTTP statuses and reasons it can answer. \
Every answer's `X-Request-Id` is the id to quote to support.
- **Versioning:** `/v1` only grows (new operations, fields, enum values and reasons); \
anything to be removed is marked `deprecated` here first and goes only with `/v2`."""
_READ = frozenset({"GET", "HEAD"})
_PROBES = ("/healthz", "/readyz", "/metrics")


def default_backends(settings: GatewaySettings) -> list[Backend]:
    return [
        Backend(AUTH_SERVICE, settings.auth_addr),
        Backend(BILLING_SERVICE, settings.billing_addr),
    ]


def openapi_document(table: RouteTable, public_methods: Collection[str]) -> dict[str, Any]:
    """The document served at ``/openapi.json``: every route, and per operation the errors
    its service declares (``tollgate_kit.api_errors``) and those the gateway answers."""
    return build_openapi(
        table,
        title="Tollgate API",
        version=API_VERSION,
        description=API_DESCRIPTION,
        public_methods=public_methods,
        error_responses=ErrorResponses([AUTH_ERRORS, BILLING_ERRORS]),
        comments=comments_by_name(DESCRIPTOR_SET.read_bytes()),
        examples=EXAMPLES,
    )


def default_openapi_document() -> dict[str, Any]:
    """The document of the default gateway (auth-svc and billing-svc), as served."""
    table = RouteTable.from_services(
        [AUTH_SERVICE, BILLING_SERVICE], header_fields=[IDEMPOTENCY_KEY]
    )
    return openapi_document(table, PUBLIC_METHODS)


def build_app(
    settings: GatewaySettings,
    *,
    backends: Sequence[Backend] | None = None,
    public_methods: Collection[str] = PUBLIC_METHODS,
    login_methods: Collection[str] = LOGIN_METHODS,
    jwks_service: str = _AUTH,
) -> Starlette:
    """The gateway app for ``backends`` (default: auth-svc and billing-svc from settings).

    Every RPC with a ``google.api.http`` rule is served; none is written by hand.
    ``public_methods`` (full method names) need no token; ``login_methods`` get the
    stricter login limit; ``jwks_service`` serves ``GetJwks`` for token verification.
    """
    backends = list(backends) if backends is not None else default_backends(settings)
    table = RouteTable.from_services(
        [backend.service for backend in backends], header_fields=[IDEMPOTENCY_KEY]
    )
    metrics = GatewayMetrics()
    access_log = AccessLog()
    serving = Serving()
    user_rate = Rate(settings.rate_limit_per_minute, settings.rate_limit_burst)
    login_rates = LoginRates(
        per_address=Rate(
            settings.login_address_rate_limit_per_minute, settings.login_address_rate_limit_burst
        ),
        per_email=Rate(settings.login_rate_limit_per_minute, settings.login_rate_limit_burst),
    )
    openapi = openapi_document(table, public_methods)
    graphql = GraphQLEndpoint(
        build_graphql_schema(),
        body_limit=settings.body_limit_bytes,
        default_deadline=settings.default_deadline_seconds,
        login_rates=login_rates,
        max_root_fields=settings.graphql_max_root_fields,
        max_fields=settings.graphql_max_fields,
        user_rate=user_rate,
        page=GraphiQLPage(settings.web_dir),
    )
    app_files = Endpoint("/app/*", AppFiles(settings.web_dir), _READ)
    docs = Endpoint("/docs/*", DocsPage(settings.web_dir), _READ)
    proxies = TrustedProxies(settings.trusted_proxies)

    def internal(endpoint: ASGIApp) -> ASGIApp:
        # Metrics and the backends' health are the cluster's business, not the internet's.
        return endpoint if settings.ops_through_proxies else InternalOnly(endpoint, proxies)

    router = Router(
        table,
        RestHandler(
            body_limit=settings.body_limit_bytes,
            default_deadline=settings.default_deadline_seconds,
            max_deadline=settings.max_deadline_seconds,
            min_deadline=settings.min_deadline_seconds,
        ),
        exact={
            "/healthz": Endpoint("/healthz", healthz, _READ),
            "/readyz": Endpoint("/readyz", internal(readyz), _READ),
            "/metrics": Endpoint("/metrics", internal(MetricsEndpoint(metrics)), _READ),
            "/openapi.json": Endpoint(
                "/openapi.json", OpenApiDocument(orjson.dumps(openapi)), _READ
            ),
            "/graphql": Endpoint(
                "/graphql", graphql, frozenset({"GET", "POST"}), Access.OPTIONAL, Limit.USER
            ),
            "/docs": docs,
            "/app": app_files,
        },
        prefixes={"/docs/": docs, "/app/": app_files},
        public_methods=public_methods,
        login_methods=login_methods,
        method_not_allowed_status=settings.method_not_allowed_status,
    )

    @asynccontextmanager
    async def lifespan(served: Starlette) -> AsyncIterator[None]:
        runtime = await _open(settings, backends, table, metrics, jwks_service)
        flusher = asyncio.create_task(access_log.run())
        serving.runtime = served.state.runtime = runtime
        try:
            yield
        finally:
            serving.runtime = served.state.runtime = None
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            await _close(runtime)

    app = GatewayApp(
        middleware=[
            Middleware(RecoverMiddleware),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_allow_origins,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=["*"],
                expose_headers=[
                    "Retry-After",
                    "RateLimit-Limit",
                    "RateLimit-Remaining",
                    "RateLimit-Reset",
                    "WWW-Authenticate",
                    "X-Request-Id",
                ],
                max_age=600,
            ),
            Middleware(RoutingMiddleware, router=router, serving=serving),
            Middleware(
                LoggerMiddleware,
                metrics=metrics,
                access_log=access_log,
                quiet_routes=_PROBES,
            ),
            Middleware(
                AuthMiddleware,
                user_rate=user_rate,
                failed_auth=FailedAuthLimit(
                    Rate(
                        settings.unauthenticated_rate_limit_per_minute,
                        settings.unauthenticated_rate_limit_burst,
                    ),
                    proxies,
                ),
            ),
            Middleware(
                RateLimitMiddleware,
                user_rate=user_rate,
                login_rates=login_rates,
                trusted_proxies=proxies,
                body_limit=settings.body_limit_bytes,
            ),
        ],
        lifespan=lifespan,
    )
    # Every request goes to the endpoint the routing middleware chose.
    app.router.default = dispatch
    app.router.redirect_slashes = False
    # The live clients while the lifespan runs (tests reach into them), else None.
    app.state.runtime = None
    app.state.metrics = metrics
    app.state.route_table = table
    return app


async def _open(
    settings: GatewaySettings,
    backends: Sequence[Backend],
    table: RouteTable,
    metrics: GatewayMetrics,
    jwks_service: str,
) -> Runtime:
    """The app's live clients, each ready (the ended-sessions feed read up to date)."""
    pool = BackendPool(
        backends,
        idempotent_methods(table),
        metrics,
        keepalive_seconds=settings.grpc_keepalive_seconds,
        tls=settings.service_tls(),
    )
    redis = create_redis(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
    )
    jwks = JwksCache(
        grpc_jwks_fetcher(pool.channel_for(jwks_service)),
        min_refetch_seconds=settings.jwks_min_refetch_seconds,
    )
    try:
        await asyncio.wait_for(jwks.refresh(), timeout=2.0)
    except Exception as error:
        # auth-svc may start after the gateway: the first token refetches.
        log.warning("jwks_prefetch_failed", error=type(error).__name__)
    verifier = TokenVerifier(jwks, issuer=settings.jwt_issuer, audience=settings.jwt_audience)

    ended = EndedSessions.connect(
        settings.redis_url,
        settings.redis_key_prefix,
        connect_timeout=settings.redis_timeout_seconds,
    )
    # Serve once ended sessions are known: before that every token would be a 503.
    await ended.start()

    async def redis_ready() -> bool:
        return bool(await asyncio.wait_for(redis.ping(), timeout=1.0))

    async def feed_ready() -> bool:
        return ended.in_sync()

    checks = [
        (name, partial(pool.health, name, 1.0))
        for name in dict.fromkeys(backend.service.full_name for backend in backends)
    ]
    limiter = RateLimiter(redis, settings.redis_key_prefix)
    leased = LeasedLimiter(limiter)
    runtime = Runtime(
        backends=pool,
        redis=redis,
        authenticator=Authenticator(verifier, ended, limiter=leased),
        limiter=limiter,
        leased=leased,
        readiness=Readiness(
            [*checks, ("redis", redis_ready), ("ended_sessions_feed", feed_ready)],
            settings.readiness_cache_seconds,
        ),
        ended=ended,
    )
    log.info(
        "gateway_started",
        routes=len(table),
        backends=list(dict.fromkeys(b.address for b in backends)),
    )
    return runtime


async def _close(runtime: Runtime) -> None:
    await runtime.ended.aclose()
    await runtime.backends.close()
    await runtime.redis.aclose()


def create_app() -> Starlette:
    """uvicorn's app factory: called once in every worker process."""
    settings = GatewaySettings()
    configure_logging(settings.service_name, settings.log_level)
    configure_telemetry(settings.service_name)
    return build_app(settings)
