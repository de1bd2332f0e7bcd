"""The caller comes from a verified access token of an open session, never from the body."""

import asyncio
import time
import uuid

import grpc
import jwt
import pytest

from tollgate.billing.v1 import billing_pb2
from tollgate_devstack.testing import free_port
from tollgate_kit.ended_sessions import announce_ended
from tollgate_kit.errors import error_reason
from tollgate_kit.tokens import session_key

pytestmark = pytest.mark.integration

CALLS = [
    ("GetWallet", billing_pb2.GetWalletRequest()),
    ("TopUp", billing_pb2.TopUpRequest(amount=1, idempotency_key="k")),
    ("Charge", billing_pb2.ChargeRequest(amount=1, idempotency_key="k")),
    (
        "Refund",
        billing_pb2.RefundRequest(charge_id=str(uuid.uuid4()), amount=1, idempotency_key="k"),
    ),
    ("ListTransactions", billing_pb2.ListTransactionsRequest()),
]


def bearer(token):
    return (("authorization", f"Bearer {token}"),)


async def rejected(billing, metadata, method="GetWallet", request=None):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await getattr(billing.stub, method)(
            request or billing_pb2.GetWalletRequest(), metadata=metadata
        )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    return error_reason(err.value)


@pytest.mark.parametrize(("method", "request_"), CALLS)
async def test_every_rpc_requires_a_token(billing, method, request_):
    assert await rejected(billing, (), method, request_) == "TOKEN_MISSING"


async def test_unauthenticated_charges_are_counted_as_such(billing):
    await rejected(billing, (), *CALLS[2])
    assert await billing.metric("billing_charge_total", result="unauthenticated") == 1
    assert await billing.metric("billing_charge_total", result="error") == 0


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 60}, "TOKEN_EXPIRED"),
        ({"token_use": "refresh"}, "TOKEN_INVALID"),
        ({"aud": "someone-else"}, "TOKEN_INVALID"),
        ({"iss": "not-auth"}, "TOKEN_INVALID"),
    ],
    ids=["expired", "refresh-token", "audience", "issuer"],
)
async def test_tokens_that_must_not_be_accepted(billing, claims, reason):
    session = uuid.uuid4().hex
    await billing.redis.set(session_key(billing.settings.redis_key_prefix, session), "1")
    token = billing.key.token("user-x", session, **claims)
    assert await rejected(billing, bearer(token)) == reason


async def test_a_forged_signature_is_rejected(billing):
    md = await billing.session()
    token = md[0][1].removeprefix("Bearer ")
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert await rejected(billing, bearer(forged)) == "TOKEN_INVALID"
    assert await rejected(billing, bearer("not.a.jwt")) == "TOKEN_INVALID"
    assert await rejected(billing, (("authorization", "Basic abc"),)) == "TOKEN_MISSING"


async def test_a_logged_out_session_is_rejected_within_a_second(billing):
    md = await billing.funded(5)
    other = await billing.funded(5)
    await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
    claims = jwt.decode(md[0][1].removeprefix("Bearer "), options={"verify_signature": False})
    # What auth-svc does on logout: announce the ended session on the feed.
    await announce_ended(
        billing.redis, billing.settings.redis_key_prefix, claims["sid"], valid_until=claims["exp"]
    )
    ended_at = time.monotonic()

    async def still_open() -> bool:
        try:
            await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
        except grpc.aio.AioRpcError:
            return False
        return True

    while await still_open():
        assert time.monotonic() - ended_at < 1.0
        await asyncio.sleep(0.01)
    assert await rejected(billing, md) == "SESSION_REVOKED"
    # Another session of the same service is untouched.
    await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=other)


async def test_the_wallet_is_the_token_subjects(billing):
    alice = await billing.session("alice-" + uuid.uuid4().hex)
    await billing.stub.TopUp(
        billing_pb2.TopUpRequest(amount=9, idempotency_key="a"), metadata=alice
    )
    bob = await billing.session("bob-" + uuid.uuid4().hex)
    wallet = await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=bob)
    assert wallet.balance == 0


async def test_many_concurrent_calls_all_pass_the_session_check(billing):
    md = await billing.session()
    wallets = await asyncio.gather(
        *(billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md) for _ in range(300))
    )
    assert len(wallets) == 300


async def test_an_unreachable_key_source_is_unavailable_not_unauthenticated(billing_factory):
    # auth-svc (the JWKS source) is down: the token cannot be judged either way.
    async with billing_factory(auth_addr=f"127.0.0.1:{free_port()}") as billing:
        metadata = await billing.session()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=metadata)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_reason(err.value) == "AUTH_UNAVAILABLE"


async def test_an_unreachable_session_store_is_unavailable(billing_factory):
    async with billing_factory(redis_url=f"redis://127.0.0.1:{free_port()}/0") as billing:
        metadata = await billing.session()  # written to the real Redis; the service can't see it
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await billing.stub.Charge(
                billing_pb2.ChargeRequest(amount=1, idempotency_key="k"), metadata=metadata
            )
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_reason(err.value) == "AUTH_UNAVAILABLE"
        assert err.value.details() == "authentication is unavailable, retry later"
