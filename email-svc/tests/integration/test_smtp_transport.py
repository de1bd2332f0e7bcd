"""SmtpTransport against a real SMTP server (aiosmtpd) that misbehaves after accepting."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from email_svc.smtp import SmtpTransport

pytestmark = pytest.mark.integration


class _Keeping:
    def __init__(self) -> None:
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.accepted.append(content)
        return "250 2.0.0 queued"


class _SlowQuit(SMTP):
    """Accepts the message, then takes its time over QUIT (a loaded or flaky relay)."""

    async def smtp_QUIT(self, arg: str) -> None:
        await asyncio.sleep(5)
        await super().smtp_QUIT(arg)


async def test_a_mail_the_server_accepted_is_delivered_even_if_quit_hangs(serve_smtp: Any) -> None:
    handler = _Keeping()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "x"
    message.set_content("hello")
    async with serve_smtp(lambda: _SlowQuit(handler, hostname="slow.test")) as port:
        transport = SmtpTransport("127.0.0.1", port, timeout_seconds=0.5)
        started = asyncio.get_running_loop().time()
        # No DeliveryUnavailable: no retry, no duplicate.
        await transport.deliver(message, sender="a@example.com", recipient="b@example.com")
        elapsed = asyncio.get_running_loop().time() - started
    assert len(handler.accepted) == 1
    assert elapsed < 2  # the hung QUIT was given up on after the timeout


class _SlowToAccept:
    """Answers the message after a while; keeps each envelope it accepted."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.envelopes: list[tuple[str | None, list[str]]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 queued"


def _message(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Tollgate <no-reply@x.test>", to, "x"
    message.set_content("hello")
    return message


async def test_the_envelope_is_what_the_caller_names_never_read_from_the_headers(
    serve_smtp: Any,
) -> None:
    handler = _SlowToAccept()
    # A To header that mail software decodes to another address than the one checked.
    message = _message("=?us-ascii?q?eve?=@example.com")
    async with serve_smtp(lambda: SMTP(handler, hostname="relay.test")) as port:
        transport = SmtpTransport("127.0.0.1", port, timeout_seconds=2)
        await transport.deliver(message, sender="no-reply@x.test", recipient="ann@example.com")
    assert handler.envelopes == [("no-reply@x.test", ["ann@example.com"])]


async def test_the_whole_exchange_quit_included_ends_within_one_timeout(serve_smtp: Any) -> None:
    # The send's lease must outlast the exchange: a slow answer to the message followed by
    # a hung QUIT may not add up to more than the one timeout the lease is checked against.
    handler = _SlowToAccept(delay=0.3)
    async with serve_smtp(lambda: _SlowQuit(handler, hostname="slow.test")) as port:
        transport = SmtpTransport("127.0.0.1", port, timeout_seconds=0.5)
        started = asyncio.get_running_loop().time()
        await transport.deliver(_message("b@x.test"), sender="a@x.test", recipient="b@x.test")
        elapsed = asyncio.get_running_loop().time() - started
    assert len(handler.envelopes) == 1
    assert elapsed < 0.7
