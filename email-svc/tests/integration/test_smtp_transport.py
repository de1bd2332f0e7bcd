"""SmtpTransport against a real SMTP server (aiosmtpd) that misbehaves after accepting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


@asynccontextmanager
async def slow_quit_server(handler: Any) -> AsyncIterator[int]:
    sessions: list[SMTP] = []

    def protocol() -> SMTP:
        session = _SlowQuit(handler, hostname="slow.test")
        sessions.append(session)
        return session

    server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for session in sessions:
            if session.transport is not None:
                session.transport.close()
        await server.wait_closed()
        await asyncio.sleep(0)


async def test_a_mail_the_server_accepted_is_delivered_even_if_quit_hangs() -> None:
    handler = _Keeping()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "x"
    message.set_content("hello")
    async with slow_quit_server(handler) as port:
        transport = SmtpTransport("127.0.0.1", port, timeout_seconds=0.5)
        started = asyncio.get_running_loop().time()
        await transport.deliver(message)  # no DeliveryUnavailable: no retry, no duplicate
        elapsed = asyncio.get_running_loop().time() - started
    assert len(handler.accepted) == 1
    assert elapsed < 2  # the hung QUIT was given up on after the timeout
