"""The sign-up and closure sagas of auth-svc against real PostgreSQL and Redis, with
billing-svc and email-svc doubles that record what they were asked."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tollgate.auth.v1 import auth_pb2
from tollgate_kit.errors import error_reason

# conftest's PASSWORD, which RunningAuth.register and .login use.
PASSWORD = "correct horse battery"
RunningAuth = BillingDouble = EmailDouble = Any


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


Eventually = Callable[..., Awaitable[None]]
ACTIVE, PENDING = auth_pb2.AccountState.ACTIVE, auth_pb2.AccountState.PENDING
CLOSED = auth_pb2.AccountState.CLOSED


async def signed_in(auth: RunningAuth, email: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    registered = await auth.register(email)
    tokens = await auth.login(email)
    return registered.user_id, bearer(tokens.access_token)


async def close(
    auth: RunningAuth, metadata: tuple[tuple[str, str], ...], password: str = PASSWORD
) -> auth_pb2.CloseAccountResponse:
    return await auth.stub.CloseAccount(
        auth_pb2.CloseAccountRequest(password=password), metadata=metadata
    )


async def test_sign_up_opens_the_wallet_then_sends_the_welcome_mail_and_activates(
    auth: RunningAuth,
    billing_double: BillingDouble,
    email_double: EmailDouble,
    eventually: Eventually,
) -> None:
    registered = await auth.register("ann@example.com")
    assert registered.account_state == ACTIVE
    assert billing_double.service.calls == [("open", registered.user_id)]

    async def welcomed() -> bool:
        return [m.template for m in email_double.service.sent] == ["welcome"]

    await eventually(welcomed, what="the welcome mail")
    assert await auth.metric("saga_completed_total", {"kind": "registration"}) == 1


async def test_with_billing_down_sign_up_stays_pending_and_completes_when_it_is_back(
    auth: RunningAuth,
    billing_double: BillingDouble,
    email_double: EmailDouble,
    eventually: Eventually,
    db: asyncpg.Connection[asyncpg.Record],
) -> None:
    billing_double.service.failures = [grpc.StatusCode.UNAVAILABLE] * 6
    registered = await auth.register("bob@example.com")
    assert registered.account_state == PENDING
    tokens = await auth.login("bob@example.com")  # login works while PENDING
    me = await auth.stub.Me(auth_pb2.MeRequest(), metadata=bearer(tokens.access_token))
    assert me.account_state in (PENDING, ACTIVE)
    assert email_double.service.sent == []  # no welcome before the wallet is open

    async def active() -> bool:
        state = await db.fetchval(
            "SELECT state FROM users WHERE id = $1", uuid.UUID(registered.user_id)
        )
        return bool(state == "ACTIVE")

    await eventually(active, within=10, what="the account to become ACTIVE")
    await eventually(lambda: _sent(email_double, "welcome"), what="the welcome mail")
    assert billing_double.service.calls == [("open", registered.user_id)]

    async def completed() -> bool:
        saga = await db.fetchrow(
            "SELECT state, last_error FROM sagas WHERE subject = $1", registered.user_id
        )
        return (
            saga is not None
            and saga["state"] == "completed"
            and "UNAVAILABLE" in (saga["last_error"] or "")
        )

    await eventually(completed, what="the saga to complete after its retries")


async def _sent(email: EmailDouble, template: str) -> bool:
    return any(m.template == template for m in email.service.sent)


async def test_closure_ends_sessions_sends_goodbye_and_erases_personal_data(
    auth: RunningAuth,
    billing_double: BillingDouble,
    email_double: EmailDouble,
    db: asyncpg.Connection[asyncpg.Record],
    eventually: Eventually,
) -> None:
    user_id, metadata = await signed_in(auth, "cat@example.com")
    other = bearer((await auth.login("cat@example.com")).access_token)
    await eventually(lambda: _sent(email_double, "welcome"), what="the welcome mail")

    answer = await close(auth, metadata)

    assert answer.account_state == CLOSED
    assert billing_double.service.calls[-2:] == [("check", user_id), ("close", user_id)]
    for md in (metadata, other):  # every session ended at once
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await auth.stub.Me(auth_pb2.MeRequest(), metadata=md)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    goodbye = [m for m in email_double.service.sent if m.template == "account_closed"]
    assert [m.to for m in goodbye] == ["cat@example.com"]
    row = await db.fetchrow(
        "SELECT state, email, password_hash FROM users WHERE id = $1", uuid.UUID(user_id)
    )
    assert dict(row or {}) == {"state": "CLOSED", "email": None, "password_hash": None}
    assert await db.fetchval("SELECT count(*) FROM email_verification_tokens") == 0
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE recipient LIKE '%cat@%'") == 0
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await auth.login("cat@example.com")
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    again = await auth.register("cat@example.com")  # the address is free again
    assert again.user_id != user_id


async def test_a_wrong_password_or_money_in_the_wallet_changes_nothing(
    auth: RunningAuth,
    billing_double: BillingDouble,
    db: asyncpg.Connection[asyncpg.Record],
) -> None:
    user_id, metadata = await signed_in(auth, "dan@example.com")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await close(auth, metadata, password="not the password")
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    billing_double.service.balance[user_id] = 5
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await close(auth, metadata)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(err.value) == "WALLET_NOT_EMPTY"
    assert billing_double.service.calls[-1] == ("check", user_id)
    assert billing_double.service.state[user_id] == "open"
    assert await db.fetchval("SELECT state FROM users WHERE id = $1", uuid.UUID(user_id)) == (
        "ACTIVE"
    )
    assert await db.fetchval("SELECT count(*) FROM sagas WHERE kind = 'account_closure'") == 0
    me = await auth.stub.Me(auth_pb2.MeRequest(), metadata=metadata)  # still signed in
    assert me.account_state == ACTIVE


async def test_a_step_that_fails_for_good_is_compensated_and_the_user_told(
    auth: RunningAuth,
    billing_double: BillingDouble,
    email_double: EmailDouble,
    db: asyncpg.Connection[asyncpg.Record],
    eventually: Eventually,
) -> None:
    user_id, metadata = await signed_in(auth, "eve@example.com")
    await eventually(lambda: _sent(email_double, "welcome"), what="the welcome mail")
    email_double.service.failures = [grpc.StatusCode.INVALID_ARGUMENT]  # goodbye refused

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await close(auth, metadata)

    assert err.value.code() == grpc.StatusCode.ABORTED
    assert error_reason(err.value) == "ACCOUNT_CLOSURE_FAILED"
    assert billing_double.service.calls[-2:] == [("close", user_id), ("reopen", user_id)]
    assert billing_double.service.state[user_id] == "open"
    row = await db.fetchrow("SELECT state, email FROM users WHERE id = $1", uuid.UUID(user_id))
    assert dict(row or {}) == {"state": "ACTIVE", "email": "eve@example.com"}
    await eventually(
        lambda: _sent(email_double, "account_closure_failed"), what="the user to be told"
    )
    saga = await db.fetchrow("SELECT state, failure FROM sagas WHERE kind = 'account_closure'")
    assert dict(saga or {}) == {"state": "compensated", "failure": "MAIL_REJECTED"}
    assert await auth.metric("saga_compensated_total", {"kind": "account_closure"}) == 1
    await auth.login("eve@example.com")  # sessions ended, but the account works


async def test_a_slow_closure_answers_closing_and_finishes_in_the_background(
    settings_for: Callable[..., Any],
    start_auth: Callable[..., Any],
    email_double: EmailDouble,
    db: asyncpg.Connection[asyncpg.Record],
    eventually: Eventually,
) -> None:
    settings = settings_for(close_account_wait_seconds=0.2)
    async with start_auth(settings) as auth:
        user_id, metadata = await signed_in(auth, "fay@example.com")
        await eventually(lambda: _sent(email_double, "welcome"), what="the welcome mail")
        email_double.service.delay = 1.0
        answer = await close(auth, metadata)
        assert answer.account_state == auth_pb2.AccountState.CLOSING

        async def closed() -> bool:
            state = await db.fetchval("SELECT state FROM users WHERE id = $1", uuid.UUID(user_id))
            return bool(state == "CLOSED")

        await eventually(closed, within=10, what="the closure to finish")


async def test_a_saga_run_is_one_trace_continuing_the_request_that_started_it(
    settings_for: Callable[..., Any], start_auth: Callable[..., Any]
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    try:
        async with start_auth(settings_for(), tracer_provider=provider) as auth:
            await auth.stub.Register(
                auth_pb2.RegisterRequest(email="gus@example.com", password=PASSWORD),
                metadata=(("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01"),),
            )
        finished = exporter.get_finished_spans()
    finally:
        provider.shutdown()
    runs = [s for s in finished if s.name == "saga registration"]
    steps = [s.name for s in finished if s.name.startswith("saga.step ")]
    assert len(runs) == 1
    run = runs[0]
    assert run.context is not None
    assert format(run.context.trace_id, "032x") == trace_id
    assert (run.attributes or {})["saga.state"] == "completed"
    assert steps == ["saga.step open_wallet", "saga.step welcome_mail", "saga.step activate"]
    for span in finished:
        if span.name.startswith("saga.step "):
            assert span.parent is not None
            assert span.parent.span_id == run.context.span_id
