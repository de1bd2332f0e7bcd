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
        await transport.deliver(message)  # no DeliveryUnavailable: no retry, no duplicate
        elapsed = asyncio.get_running_loop().time() - started
    assert len(handler.accepted) == 1
    assert elapsed < 2  # the hung QUIT was given up on after the timeout
