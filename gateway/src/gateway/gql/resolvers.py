"""GraphQL resolvers: each is one gRPC call to auth-svc or billing-svc.

Errors come back as GraphQL errors with ``extensions: {code, reason}`` — the gRPC code
name and the ErrorInfo reason, the same facts the REST API gives in its error body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from graphql import GraphQLError, GraphQLResolveInfo
from redis.exceptions import RedisError

from gateway.backends import BackendPool
from gateway.errors import safe_message
from gateway.ratelimit import LoginRates, RateLimiter
from tollgate.auth.v1 import auth_pb2
from tollgate.billing.v1 import billing_pb2
from tollgate_kit.errors import status_of, status_reason
from tollgate_kit.logs import get_logger
from tollgate_kit.tokens import TokenClaims

log = get_logger(__name__)

AUTH = "/tollgate.auth.v1.AuthService/"
BILLING = "/tollgate.billing.v1.BillingService/"
Info = GraphQLResolveInfo[Any]
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


@dataclass
class GraphQLContext:
    backends: BackendPool
    timeout: float
    client_address: str
    claims: TokenClaims | None = None
    auth_error: tuple[str, str] | None = None
    limiter: RateLimiter | None = None
    login_rates: LoginRates | None = None
    metadata: list[tuple[str, str | bytes]] = field(default_factory=list)


def _error(message: str, code: str, reason: str | None) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, "reason": reason})


async def _call(
    info: Info,
    method: str,
    request: Message,
    response_class: type[Message],
    *,
    user: bool,
) -> Any:
    context: GraphQLContext = info.context
    if user and context.claims is None:
        reason, message = context.auth_error or ("TOKEN_MISSING", "missing bearer token")
        raise _error(message, "UNAUTHENTICATED", reason)
    try:
        result = await context.backends.call(
            method, request, response_class, context.metadata, context.timeout
        )
    except grpc.aio.AioRpcError as error:
        status = status_of(error)
        code = _CODE_NAMES.get(status.code, "UNKNOWN")
        raise _error(
            safe_message(status.code, status.message), code, status_reason(status)
        ) from None
    return result.response


async def _login_limit(info: Info, email: str) -> None:
    context: GraphQLContext = info.context
    if context.limiter is None or context.login_rates is None:
        return
    try:
        decision = await context.limiter.hit_all(
            context.login_rates.checks(context.client_address, email)
        )
    except RedisError as error:
        # As on the REST routes: the limit protects the backends, it does not gate access.
        log.warning("rate_limiter_unavailable", error=type(error).__name__)
        return
    if not decision.allowed:
        raise _error("rate limit exceeded", "RESOURCE_EXHAUSTED", "RATE_LIMITED")


def _time(value: Timestamp, present: bool) -> str | None:
    return value.ToJsonString() if present else None


def _transaction(tx: billing_pb2.Transaction) -> dict[str, Any]:
    return {
        "id": tx.id,
        "amount": tx.amount,
        "kind": billing_pb2.Transaction.Kind.Name(tx.kind),
        "description": tx.description,
        "refundOf": tx.refund_of or None,
        "currency": tx.currency,
        "createdAt": _time(tx.created_at, tx.HasField("created_at")),
    }


def _change(response: Any) -> dict[str, Any]:
    return {"transaction": _transaction(response.transaction), "balance": response.balance}


def _tokens(response: Any) -> dict[str, Any]:
    return {
        "accessToken": response.access_token,
        "refreshToken": response.refresh_token,
        "tokenType": response.token_type,
        "expiresIn": response.expires_in,
    }


async def me(_: Any, info: Info) -> dict[str, Any]:
    response = await _call(info, AUTH + "Me", auth_pb2.MeRequest(), auth_pb2.MeResponse, user=True)
    return {
        "userId": response.user_id,
        "email": response.email,
        "emailVerified": response.email_verified,
        "createdAt": _time(response.created_at, response.HasField("created_at")),
        "accountState": auth_pb2.AccountState.Name(response.account_state),
    }


async def wallet(_: Any, info: Info) -> dict[str, Any]:
    response = await _call(
        info,
        BILLING + "GetWallet",
        billing_pb2.GetWalletRequest(),
        billing_pb2.GetWalletResponse,
        user=True,
    )
    return {"balance": response.balance, "currency": response.currency}


async def transactions(
    _: Any,
    info: Info,
    pageSize: int = 0,
    pageToken: str = "",
) -> dict[str, Any]:
    request = billing_pb2.ListTransactionsRequest(page_size=pageSize or 0, page_token=pageToken)
    response = await _call(
        info,
        BILLING + "ListTransactions",
        request,
        billing_pb2.ListTransactionsResponse,
        user=True,
    )
    return {
        "transactions": [_transaction(tx) for tx in response.transactions],
        "nextPageToken": response.next_page_token,
    }


async def register(_: Any, info: Info, email: str, password: str) -> dict[str, Any]:
    await _login_limit(info, email)
    request = auth_pb2.RegisterRequest(email=email, password=password)
    response = await _call(info, AUTH + "Register", request, auth_pb2.RegisterResponse, user=False)
    return {
        "userId": response.user_id,
        "email": response.email,
        "accountState": auth_pb2.AccountState.Name(response.account_state),
    }


async def login(_: Any, info: Info, email: str, password: str) -> dict[str, Any]:
    await _login_limit(info, email)
    request = auth_pb2.LoginRequest(email=email, password=password)
    return _tokens(await _call(info, AUTH + "Login", request, auth_pb2.LoginResponse, user=False))


async def refresh(_: Any, info: Info, refreshToken: str) -> dict[str, Any]:
    request = auth_pb2.RefreshRequest(refresh_token=refreshToken)
    return _tokens(
        await _call(info, AUTH + "Refresh", request, auth_pb2.RefreshResponse, user=False)
    )


async def logout(_: Any, info: Info) -> bool:
    await _call(info, AUTH + "Logout", auth_pb2.LogoutRequest(), auth_pb2.LogoutResponse, user=True)
    return True


async def top_up(
    _: Any,
    info: Info,
    amount: int,
    idempotencyKey: str,
) -> dict[str, Any]:
    request = billing_pb2.TopUpRequest(amount=amount, idempotency_key=idempotencyKey)
    return _change(
        await _call(info, BILLING + "TopUp", request, billing_pb2.TopUpResponse, user=True)
    )


async def charge(
    _: Any,
    info: Info,
    amount: int,
    idempotencyKey: str,
    description: str | None = None,
) -> dict[str, Any]:
    request = billing_pb2.ChargeRequest(
        amount=amount, description=description or "", idempotency_key=idempotencyKey
    )
    return _change(
        await _call(info, BILLING + "Charge", request, billing_pb2.ChargeResponse, user=True)
    )


async def refund(
    _: Any,
    info: Info,
    chargeId: str,
    amount: int,
    idempotencyKey: str,
) -> dict[str, Any]:
    request = billing_pb2.RefundRequest(
        charge_id=chargeId, amount=amount, idempotency_key=idempotencyKey
    )
    return _change(
        await _call(info, BILLING + "Refund", request, billing_pb2.RefundResponse, user=True)
    )


async def close_account(_: Any, info: Info, password: str) -> dict[str, Any]:
    request = auth_pb2.CloseAccountRequest(password=password)
    response = await _call(
        info, AUTH + "CloseAccount", request, auth_pb2.CloseAccountResponse, user=True
    )
    return {"accountState": auth_pb2.AccountState.Name(response.account_state)}


Resolver = Callable[..., Awaitable[Any]]

RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {"me": me, "wallet": wallet, "transactions": transactions},
    "Mutation": {
        "register": register,
        "login": login,
        "refresh": refresh,
        "logout": logout,
        "topUp": top_up,
        "charge": charge,
        "refund": refund,
        "closeAccount": close_account,
    },
}
