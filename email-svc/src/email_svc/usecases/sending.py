"""Sending one email at most once per message id (the SendEmail use case).

Delivery guarantee
------------------
SMTP hands a message over with one final ``250 OK`` reply, and nothing can make recording
"sent" atomic with that reply: if this process dies after the server accepted the message and
before the database commit, the send is not recorded and a retry sends it again. So the edge
is **at-least-once**. Everything else is arranged so that duplicates can only come from that
window, and so that receivers can remove even those:

* **Claim before sending.** A send runs only while it holds the row lock of its message id
  in the ``email`` database (see :mod:`email_svc.store.send_log`). A second attempt with the
  same id - a retry, a concurrent duplicate, another replica - finds the row locked and
  waits, or finds it ``sent`` and returns ``duplicate``. It never sends in parallel.
* **A lease that dies with its holder.** The lock belongs to the sender's database session:
  a crashed or killed process frees it at once (PostgreSQL ends the session when the socket
  closes), so a retry can take over immediately; a hung one is cut off by
  ``idle_in_transaction_session_timeout`` (the lease, longer than the SMTP timeout).
* **Failures release the claim.** An SMTP failure records the attempt (not ``sent``) and
  frees the id, so the caller's retry sends it.
* **Cancellation does not interrupt a send.** If the caller gives up (deadline), the send
  and its record still complete in the background.
* **A stable Message-ID.** Every attempt of one message id carries the same ``Message-ID``
  header, so a receiver that deduplicates by it (Mailpit's ``--ignore-duplicate-ids``, most
  mailbox providers) drops the rare second copy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from email.utils import parseaddr

from email_svc.domain import EmailRequest, SendInProgress, build_mime, prepare
from email_svc.usecases.ports import SendLog, SendOutcome, Transport


@dataclass(frozen=True)
class SendResult:
    message_id: str
    duplicate: bool


class EmailSender:
    def __init__(
        self,
        send_log: SendLog,
        transport: Transport,
        *,
        sender: str,
        busy_wait_seconds: float,
        poll_seconds: float = 0.02,
    ) -> None:
        self._log = send_log
        self._transport = transport
        self._sender = sender
        # The envelope's MAIL FROM: the bare address of the From header.
        self._envelope_sender = parseaddr(sender)[1]
        self._busy_wait = busy_wait_seconds
        self._poll = poll_seconds
        self._running: set[asyncio.Task[SendOutcome]] = set()

    async def send(self, request: EmailRequest, *, time_left: float | None = None) -> SendResult:
        """Send ``request`` unless its message id was sent already.

        Waits while another attempt holds the id, at most ``busy_wait_seconds`` (and no longer
        than ``time_left``, the caller's deadline), then raises SendInProgress. Raises the
        domain's InvalidEmailRequest subclasses and DeliveryError subclasses.
        """
        email = prepare(request)
        message = build_mime(email, self._sender)

        async def deliver() -> None:
            await self._transport.deliver(
                message, sender=self._envelope_sender, recipient=email.recipient
            )

        budget = self._busy_wait if time_left is None else min(self._busy_wait, time_left)
        give_up = time.monotonic() + budget
        pause = self._poll
        while True:
            attempt = self._log.send_once(
                email.message_id, email.recipient, email.template, email.fingerprint, deliver
            )
            outcome = await self._uninterrupted(attempt)
            if outcome is SendOutcome.SENT:
                return SendResult(email.message_id, duplicate=False)
            if outcome is SendOutcome.ALREADY_SENT:
                return SendResult(email.message_id, duplicate=True)
            remaining = give_up - time.monotonic()
            if remaining <= 0:
                raise SendInProgress(f"message {email.message_id!r} is being sent by another call")
            await asyncio.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.25)

    async def _uninterrupted(self, attempt: Awaitable[SendOutcome]) -> SendOutcome:
        # A send that started finishes, and records what happened, even if the caller is
        # cancelled; abandoning it halfway is what turns a retry into a duplicate.
        task = asyncio.ensure_future(attempt)
        self._running.add(task)
        task.add_done_callback(self._forget)
        return await asyncio.shield(task)

    def _forget(self, task: asyncio.Task[SendOutcome]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a caller that went away cannot re-raise it

    async def drain(self) -> None:
        """Wait for sends whose callers went away (call before closing the pool)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
