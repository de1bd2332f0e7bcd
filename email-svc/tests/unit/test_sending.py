"""The SendEmail use case with an in-memory send log and a fake transport."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from email.message import EmailMessage

import pytest

from email_svc.domain import (
    DeliveryUnavailable,
    EmailRequest,
    IdempotencyKeyReused,
    SendInProgress,
)
from email_svc.usecases.ports import SendOutcome
from email_svc.usecases.sending import EmailSender

REQUEST = EmailRequest(
    message_id="m-1",
    to="alice@example.com",
    template="welcome",
    params={"verification_url": "https://tollgate.test/v?t=1"},
)


class MemorySendLog:
    def __init__(self) -> None:
        self.fingerprints: dict[str, str] = {}
        self.sent: set[str] = set()
        self.in_flight: set[str] = set()

    async def send_once(
        self,
        message_id: str,
        recipient: str,
        template: str,
        fingerprint: str,
        deliver: Callable[[], Awaitable[None]],
    ) -> SendOutcome:
        if self.fingerprints.setdefault(message_id, fingerprint) != fingerprint:
            raise IdempotencyKeyReused("reused")
        if message_id in self.sent:
            return SendOutcome.ALREADY_SENT
        if message_id in self.in_flight:
            return SendOutcome.BUSY
        self.in_flight.add(message_id)
        try:
            await deliver()
            self.sent.add(message_id)
        finally:
            self.in_flight.discard(message_id)
        return SendOutcome.SENT


class FakeTransport:
    def __init__(self) -> None:
        self.delivered: list[EmailMessage] = []
        self.envelopes: list[tuple[str, str]] = []
        self.failures: list[Exception] = []
        self.gate: asyncio.Event | None = None

    async def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append(message)
        self.envelopes.append((sender, recipient))


def _sender(log: MemorySendLog, transport: FakeTransport, busy_wait: float = 5.0) -> EmailSender:
    return EmailSender(
        log,
        transport,
        sender="Tollgate <no-reply@tollgate.local>",
        busy_wait_seconds=busy_wait,
        poll_seconds=0.001,
    )


async def test_second_send_of_an_id_is_a_duplicate() -> None:
    transport = FakeTransport()
    sender = _sender(MemorySendLog(), transport)
    assert (await sender.send(REQUEST)).duplicate is False
    assert (await sender.send(REQUEST)).duplicate is True
    assert len(transport.delivered) == 1
    # The envelope: the sender's bare address (From has a display name), the checked recipient.
    assert transport.envelopes == [("no-reply@tollgate.local", REQUEST.to)]


async def test_concurrent_duplicates_wait_for_the_first_and_report_duplicate() -> None:
    transport = FakeTransport()
    transport.gate = asyncio.Event()
    sender = _sender(MemorySendLog(), transport)
    calls = [asyncio.ensure_future(sender.send(REQUEST)) for _ in range(5)]
    await asyncio.sleep(0.01)
    transport.gate.set()
    results = await asyncio.gather(*calls)
    assert sorted(r.duplicate for r in results) == [False, True, True, True, True]
    assert len(transport.delivered) == 1


async def test_a_duplicate_gives_up_when_the_first_send_takes_too_long() -> None:
    transport = FakeTransport()
    transport.gate = asyncio.Event()
    sender = _sender(MemorySendLog(), transport, busy_wait=0.05)
    first = asyncio.ensure_future(sender.send(REQUEST))
    await asyncio.sleep(0.01)
    with pytest.raises(SendInProgress):
        await sender.send(REQUEST)
    transport.gate.set()
    assert (await first).duplicate is False


async def test_the_callers_deadline_bounds_the_wait() -> None:
    transport = FakeTransport()
    transport.gate = asyncio.Event()
    sender = _sender(MemorySendLog(), transport, busy_wait=60)
    first = asyncio.ensure_future(sender.send(REQUEST))
    await asyncio.sleep(0.01)
    with pytest.raises(SendInProgress):
        await sender.send(REQUEST, time_left=0.05)
    transport.gate.set()
    await first


async def test_a_failed_delivery_is_retried_by_the_next_call() -> None:
    transport = FakeTransport()
    transport.failures.append(DeliveryUnavailable("connection refused"))
    sender = _sender(MemorySendLog(), transport)
    with pytest.raises(DeliveryUnavailable):
        await sender.send(REQUEST)
    assert (await sender.send(REQUEST)).duplicate is False
    assert len(transport.delivered) == 1


async def test_a_cancelled_caller_does_not_abort_the_send_it_started() -> None:
    transport = FakeTransport()
    transport.gate = asyncio.Event()
    log = MemorySendLog()
    sender = _sender(log, transport)
    call = asyncio.ensure_future(sender.send(REQUEST))
    await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    transport.gate.set()
    await sender.drain()
    assert len(transport.delivered) == 1
    assert "m-1" in log.sent


async def test_every_attempt_of_an_id_carries_the_same_message_id_header() -> None:
    transport = FakeTransport()
    transport.failures.append(DeliveryUnavailable("down"))
    sender = _sender(MemorySendLog(), transport)
    headers = []

    original = transport.deliver

    async def spy(message: EmailMessage, *, sender: str, recipient: str) -> None:
        headers.append(message["Message-ID"])
        await original(message, sender=sender, recipient=recipient)

    transport.deliver = spy  # type: ignore[method-assign]
    with pytest.raises(DeliveryUnavailable):
        await sender.send(REQUEST)
    await sender.send(REQUEST)
    assert headers == ["<m-1@tollgate.local>", "<m-1@tollgate.local>"]
