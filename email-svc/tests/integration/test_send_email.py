"""SendEmail end to end: email-svc in-process on a temp database, real SMTP servers."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import grpc
import httpx
import pytest

from tollgate.email.v1 import email_pb2
from tollgate_devstack.mailcatcher import MailCatcher
from tollgate_devstack.mailcatcher.client import MailpitClient
from tollgate_devstack.testing import TcpProxy, through_port
from tollgate_kit.errors import error_reason

pytestmark = pytest.mark.integration

VERIFY_URL = "https://tollgate.test/verify-email?token=abc123&user=42"


def _welcome(message_id: str, to: str = "alice@example.com", **params: str) -> Any:
    return email_pb2.SendEmailRequest(
        message_id=message_id,
        to=to,
        template="welcome",
        params={"verification_url": VERIFY_URL, "name": "Alice", **params},
    )


def _new_id() -> str:
    return str(uuid.uuid4())


async def _state(db: asyncpg.Connection, message_id: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT state, attempts, last_error, sent_at FROM email_sends WHERE message_id = $1",
        message_id,
    )


async def _expect_error(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


async def test_welcome_mail_arrives_at_the_mail_catcher_process(
    email_service_factory: Any, catcher_process: Any
) -> None:
    message_id = _new_id()
    async with email_service_factory(catcher_process.smtp_port) as service:
        reply = await service.stub.SendEmail(_welcome(message_id), timeout=10)
    assert (reply.message_id, reply.duplicate) == (message_id, False)

    async with MailpitClient(catcher_process.url) as mail:
        message = await mail.wait_for_message("alice@example.com")
        assert len(await mail.messages()) == 1
    assert message.subject == "Welcome to Tollgate - please verify your email address"
    assert message.from_ is not None
    assert (message.from_.name, message.from_.address) == ("Tollgate", "no-reply@tollgate.local")
    assert [a.address for a in message.to] == ["alice@example.com"]
    assert message.message_id == f"{message_id}@tollgate.local"
    assert "Hi Alice," in message.text
    assert VERIFY_URL in message.text
    assert 'href="https://tollgate.test/verify-email?token=abc123&amp;user=42"' in message.html


async def test_charge_receipt_shows_the_amount_in_major_units(
    email_service: Any, mail: MailpitClient
) -> None:
    request = email_pb2.SendEmailRequest(
        message_id=_new_id(),
        to="bob@example.com",
        template="charge_receipt",
        params={"charge_id": "ch_1", "amount": "1999", "currency": "EUR", "balance": "8001"},
    )
    await email_service.stub.SendEmail(request, timeout=10)
    message = await mail.wait_for_message("bob@example.com")
    assert message.subject == "Your Tollgate receipt for 19.99 EUR"
    assert "ch_1" in message.text
    assert "80.01 EUR" in message.html


async def test_repeated_message_id_sends_one_mail(
    email_service: Any, catcher: MailCatcher, db: asyncpg.Connection
) -> None:
    message_id = _new_id()
    first = await email_service.stub.SendEmail(_welcome(message_id), timeout=10)
    second = await email_service.stub.SendEmail(_welcome(message_id), timeout=10)
    assert (first.duplicate, second.duplicate) == (False, True)
    assert len(catcher.messages()) == 1
    row = await _state(db, message_id)
    assert row is not None
    assert (row["state"], row["attempts"]) == ("sent", 1)


async def test_twenty_concurrent_sends_of_one_id_send_one_mail(
    email_service: Any, catcher: MailCatcher
) -> None:
    message_id = _new_id()
    replies = await asyncio.gather(
        *(email_service.stub.SendEmail(_welcome(message_id), timeout=20) for _ in range(20))
    )
    assert sorted(r.duplicate for r in replies) == [False] + [True] * 19
    assert len(catcher.messages()) == 1


async def test_two_replicas_racing_on_one_id_send_one_mail(
    email_service_factory: Any, catcher: MailCatcher
) -> None:
    message_id = _new_id()
    async with (
        email_service_factory(catcher.smtp_port) as one,
        email_service_factory(catcher.smtp_port) as two,
    ):
        replies = await asyncio.gather(
            *(
                service.stub.SendEmail(_welcome(message_id), timeout=20)
                for _ in range(10)
                for service in (one, two)
            )
        )
    assert sum(not r.duplicate for r in replies) == 1
    assert len(catcher.messages()) == 1


async def test_smtp_down_is_unavailable_and_the_id_sends_once_after_restart(
    email_service_factory: Any, catcher_process: Any, db: asyncpg.Connection
) -> None:
    message_id = _new_id()
    async with email_service_factory(catcher_process.smtp_port) as service:
        catcher_process.stop()
        err = await _expect_error(service.stub.SendEmail(_welcome(message_id), timeout=10))
        assert err.code() == grpc.StatusCode.UNAVAILABLE
        assert error_reason(err) == "SMTP_UNAVAILABLE"
        row = await _state(db, message_id)
        assert row is not None
        assert (row["state"], row["sent_at"], row["attempts"]) == ("pending", None, 1)
        assert row["last_error"]

        await catcher_process.start()
        sent = await service.stub.SendEmail(_welcome(message_id), timeout=10)
        again = await service.stub.SendEmail(_welcome(message_id), timeout=10)
    assert (sent.duplicate, again.duplicate) == (False, True)
    async with MailpitClient(catcher_process.url) as mail:
        messages = await mail.messages()
    assert [m.message_id for m in messages] == [f"{message_id}@tollgate.local"]
    row = await _state(db, message_id)
    assert row is not None
    assert (row["state"], row["attempts"]) == ("sent", 2)


@pytest.mark.parametrize(
    "address",
    [
        "not-an-address",
        "Alice <alice@example.com>",
        "alice@localhost",
        "alice@example.com\r\nBcc: x@y.z",
        "",
        # Encoded words: mail software would read these as eve@example.com or worse.
        "=?us-ascii?q?eve?=@example.com",
        "=?utf-8?q?eve=40evil.com?=@example.com",
        "=?utf-8?q?x=0D=0ABcc=3A_eve=40evil.com?=@example.com",
    ],
)
async def test_bad_address_is_invalid_argument_and_nothing_is_recorded(
    email_service: Any, catcher: MailCatcher, db: asyncpg.Connection, address: str
) -> None:
    message_id = _new_id()
    err = await _expect_error(
        email_service.stub.SendEmail(_welcome(message_id, to=address), timeout=10)
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(err) == "INVALID_RECIPIENT"
    assert await _state(db, message_id) is None
    assert catcher.messages() == []


@pytest.mark.parametrize(
    ("template", "params", "reason"),
    [
        ("nope", {}, "UNKNOWN_TEMPLATE"),
        ("welcome", {"name": "Alice"}, "MISSING_TEMPLATE_PARAMS"),
        ("welcome", {"verification_url": "javascript:alert(1)"}, "INVALID_TEMPLATE_PARAM"),
        ("welcome", {"verification_url": "https://[tollgate.test/x"}, "INVALID_TEMPLATE_PARAM"),
        (
            "charge_receipt",
            {"charge_id": "c", "amount": "1.5", "currency": "EUR"},
            "INVALID_TEMPLATE_PARAM",
        ),
    ],
)
async def test_bad_template_or_params_are_invalid_argument(
    email_service: Any, catcher: MailCatcher, template: str, params: dict[str, str], reason: str
) -> None:
    request = email_pb2.SendEmailRequest(
        message_id=_new_id(), to="alice@example.com", template=template, params=params
    )
    err = await _expect_error(email_service.stub.SendEmail(request, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(err) == reason
    assert catcher.messages() == []


async def test_reusing_a_message_id_for_other_content_is_rejected(
    email_service: Any, catcher: MailCatcher
) -> None:
    message_id = _new_id()
    await email_service.stub.SendEmail(_welcome(message_id), timeout=10)
    err = await _expect_error(
        email_service.stub.SendEmail(_welcome(message_id, to="mallory@example.com"), timeout=10)
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(err) == "IDEMPOTENCY_KEY_REUSED"
    assert len(catcher.messages()) == 1


async def test_hung_smtp_server_is_unavailable_after_the_timeout(
    email_service_factory: Any, silent_smtp_port: int
) -> None:
    async with email_service_factory(silent_smtp_port, smtp_timeout_seconds=0.5) as service:
        err = await _expect_error(service.stub.SendEmail(_welcome(_new_id()), timeout=10))
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert error_reason(err) == "SMTP_UNAVAILABLE"


async def test_temporary_smtp_refusal_is_unavailable_and_permanent_is_invalid(
    email_service_factory: Any,
    refusing_smtp: Callable[[str], AbstractAsyncContextManager[int]],
) -> None:
    async with (
        refusing_smtp("451 4.3.0 try again later") as port,
        email_service_factory(port) as service,
    ):
        err = await _expect_error(service.stub.SendEmail(_welcome(_new_id()), timeout=10))
        assert err.code() == grpc.StatusCode.UNAVAILABLE
        assert error_reason(err) == "SMTP_UNAVAILABLE"

    async with (
        refusing_smtp("550 5.1.1 no such user") as port,
        email_service_factory(port) as service,
    ):
        err = await _expect_error(service.stub.SendEmail(_welcome(_new_id()), timeout=10))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_reason(err) == "RECIPIENT_REJECTED"


async def test_emails_sent_total_counts_outcomes_by_template(
    email_service: Any,
) -> None:
    message_id = _new_id()
    await email_service.stub.SendEmail(_welcome(message_id), timeout=10)
    await email_service.stub.SendEmail(_welcome(message_id), timeout=10)
    await _expect_error(email_service.stub.SendEmail(_welcome(_new_id(), to="bad"), timeout=10))

    registry = email_service.app.registry
    sample = registry.get_sample_value
    assert sample("emails_sent_total", {"template": "welcome", "result": "sent"}) == 1
    assert sample("emails_sent_total", {"template": "welcome", "result": "duplicate"}) == 1
    assert sample("emails_sent_total", {"template": "welcome", "result": "invalid"}) == 1
    url = f"http://127.0.0.1:{email_service.settings.http_port}/metrics"
    async with httpx.AsyncClient() as http:
        text = (await http.get(url)).text
    assert 'emails_sent_total{result="sent",template="welcome"} 1.0' in text


@pytest.mark.parametrize(
    "reply",
    ["554 5.7.1 <alice@example.com>: Relay access denied", "530 5.7.0 Authentication required"],
)
async def test_a_relay_that_refuses_us_keeps_the_mail_retryable(
    email_service_factory: Any,
    refusing_smtp: Callable[[str], AbstractAsyncContextManager[int]],
    reply: str,
) -> None:
    # The relay's set-up (credentials, allowed senders) is wrong, not the address: a
    # dead-letter here would lose every mail until someone noticed.
    async with refusing_smtp(reply) as port, email_service_factory(port) as service:
        err = await _expect_error(service.stub.SendEmail(_welcome(_new_id()), timeout=10))
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert error_reason(err) == "SMTP_REJECTED"


async def test_a_refusal_reports_codes_not_the_address_the_server_echoed(
    email_service_factory: Any,
    refusing_smtp: Callable[[str], AbstractAsyncContextManager[int]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The stand-in SMTP server (aiosmtpd, in this process) logs every RCPT itself: it is the
    # far side, not email-svc, so its log is silenced for this check.
    monkeypatch.setattr(logging.getLogger("mail.log"), "disabled", True)
    to = "carol.private@example.com"
    async with (
        refusing_smtp(f"550 5.1.1 <{to}>: Recipient address rejected: User unknown") as port,
        email_service_factory(port) as service,
    ):
        err = await _expect_error(service.stub.SendEmail(_welcome(_new_id(), to=to), timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "550 5.1.1" in (err.details() or "")
    # Neither the status the caller (and auth-svc's outbox row) gets nor the logs repeat it.
    assert to not in (err.details() or "")
    captured = capsys.readouterr()
    assert to not in captured.out + captured.err


async def test_a_lost_send_log_is_unavailable_and_the_retry_sends_once(
    email_service_factory: Any, email_dsn: str, catcher: MailCatcher
) -> None:
    target = urlsplit(email_dsn)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    try:
        async with email_service_factory(
            catcher.smtp_port, database_url=through_port(email_dsn, proxy.port)
        ) as service:
            await proxy.cut()
            message_id = _new_id()
            err = await _expect_error(service.stub.SendEmail(_welcome(message_id), timeout=10))
            assert err.code() == grpc.StatusCode.UNAVAILABLE
            assert error_reason(err) == "SEND_LOG_UNAVAILABLE"
            assert catcher.messages() == []
            await proxy.start()
            await service.stub.SendEmail(_welcome(message_id), timeout=10)
            await service.stub.SendEmail(_welcome(message_id), timeout=10)
        assert len(catcher.messages()) == 1
    finally:
        await proxy.cut()
