"""Registration mail end to end (issue 6, "Done when"): the real gateway, auth-svc (with its
transactional outbox relay), email-svc and the dev mail catcher on real PostgreSQL and Redis.

These tests stop and SIGKILL processes, so they run on a stack of their own, not on the
session's shared one.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tollgate.email.v1 import email_pb2, email_pb2_grpc
from tollgate_devstack.mailcatcher import MailpitClient
from tollgate_devstack.mailcatcher.client import MessageSummary
from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import running_suite

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
BATCH = 20
REJECTED = 'auth_outbox_delivery_attempts_total{result="rejected"}'
RETRIED = 'auth_outbox_delivery_attempts_total{result="retry"}'
# Deadline for mail that has to wait for the relay's backoff (capped at 1 s below).
MAIL_WITHIN = 30.0

LOGS: dict[str, list[str]] = {}


def _collect(name: str, line: str) -> None:
    LOGS.setdefault(name, []).append(line)


@pytest.fixture(scope="module")
def mail_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Its own suite: these tests stop and kill processes of it.
    with running_suite(
        "e2e_mail", tmp_path_factory.mktemp("mail_stack"), log_sink=_collect
    ) as suite:
        yield suite


# -- helpers -----------------------------------------------------------------------------------


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def _gateway(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.http_url("gateway"), timeout=15)


async def _register(api: httpx.AsyncClient, email: str) -> httpx.Response:
    return await api.post("/v1/auth/register", json={"email": email, "password": PASSWORD})


def _reason(response: httpx.Response) -> str:
    return str(response.json()["details"][0]["reason"])


def _per_recipient(messages: Iterable[MessageSummary], wanted: set[str]) -> Counter[str]:
    return Counter(r.lower() for m in messages for r in m.recipients if r.lower() in wanted)


def _arrived(wanted: set[str]) -> Callable[[list[MessageSummary]], bool]:
    return lambda messages: set(_per_recipient(messages, wanted)) == wanted


async def _metric(stack: Stack, service: str, sample: str) -> float:
    """One sample (``name`` or ``name{label="value"}``) of a service's /metrics; 0 if absent."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(stack.http_url(service) + "/metrics")
    response.raise_for_status()
    for line in response.text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return 0.0


async def _eventually(
    check: Callable[[], Awaitable[bool]], what: str, within: float = MAIL_WITHIN
) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not within {within}s: {what}")
        await asyncio.sleep(0.05)


async def _outbox_drained(stack: Stack) -> None:
    """Wait until auth-svc's relay has nothing left to deliver (every row marked delivered),
    so no further send of these messages can still come."""

    async def drained() -> bool:
        return await _metric(stack, "auth", "auth_outbox_depth") == 0

    await _eventually(drained, "auth_outbox_depth reads 0")


async def _settled_mail(
    stack: Stack, mail: MailpitClient, emails: list[str], *, rejected_before: float
) -> dict[str, list[MessageSummary]]:
    """Every copy the catcher holds per address in ``emails`` (oldest first), once each
    address has mail and auth's outbox is drained (every row delivered, so no send of these
    messages can still come). Also checks the relay dead-lettered none of them."""
    wanted = {e.lower() for e in emails}
    await mail.wait_for(_arrived(wanted), within=MAIL_WITHIN)
    await _outbox_drained(stack)
    copies: dict[str, list[MessageSummary]] = {e: [] for e in wanted}
    for message in reversed(await mail.messages()):
        for recipient in {r.lower() for r in message.recipients} & wanted:
            copies[recipient].append(message)
    rejected = await _metric(stack, "auth", REJECTED)
    assert rejected == rejected_before, "the relay dead-lettered registration mail"
    return copies


def _assert_one_message_id_each(copies: dict[str, list[MessageSummary]]) -> None:
    """Each address got one message (its copies, if several, carry one Message-ID), and no
    two addresses share a Message-ID."""
    ids = {e: {m.message_id for m in found} for e, found in copies.items()}
    several = {e: found for e, found in ids.items() if len(found) != 1 or "" in found}
    assert not several, f"not exactly one Message-ID per address: {several}"
    assert len({i for found in ids.values() for i in found}) == len(copies)


# -- tests -------------------------------------------------------------------------------------


async def test_registration_mails_a_single_use_link_that_verifies_the_email(
    mail_stack: Stack,
) -> None:
    email = _email("welcome")
    async with (
        _gateway(mail_stack) as api,
        MailpitClient(mail_stack.http_url("mailcatcher")) as mail,
    ):
        await mail.delete_messages()
        registered = await _register(api, email)
        assert registered.status_code == 200, registered.text

        message = await mail.wait_for_message(email, within=MAIL_WITHIN)
        assert [a.address for a in message.to] == [email]
        links = re.findall(r"https?://\S+/verify-email\?\S+", message.text)
        assert len(set(links)) == 1, message.text
        link = links[0]
        assert html.escape(link) in message.html
        url = urlsplit(link)
        assert f"{url.scheme}://{url.netloc}" == mail_stack.http_url("gateway")
        assert url.path == "/app/verify-email"
        (token,) = parse_qs(url.query)["token"]

        login = await api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        before = await api.get("/v1/auth/me", headers=auth)
        assert before.status_code == 200, before.text
        assert before.json()["emailVerified"] is False

        # What the web app's verify-email screen does with the link's token.
        verified = await api.post("/v1/auth/verify-email", json={"token": token})
        assert verified.status_code == 200, verified.text
        after = await api.get("/v1/auth/me", headers=auth)
        assert after.status_code == 200, after.text
        assert after.json()["emailVerified"] is True

        again = await api.post("/v1/auth/verify-email", json={"token": token})
        assert 400 <= again.status_code < 500, again.text
        assert _reason(again) == "VERIFICATION_TOKEN_USED"


async def test_mail_sent_while_the_smtp_server_is_down_arrives_once_it_is_back(
    mail_stack: Stack,
) -> None:
    emails = [_email("smtp-down") for _ in range(BATCH)]
    rejected = await _metric(mail_stack, "auth", REJECTED)
    async with (
        _gateway(mail_stack) as api,
        MailpitClient(mail_stack.http_url("mailcatcher")) as mail,
    ):
        mail_stack.terminate("mailcatcher")
        try:
            retries_before = await _metric(mail_stack, "auth", RETRIED)
            responses = await asyncio.gather(*(_register(api, e) for e in emails))
            assert [r.status_code for r in responses] == [200] * BATCH, [
                r.text for r in responses if r.status_code != 200
            ]

            # The relay really met the outage: delivery attempts failed and were rescheduled.
            async def retried() -> bool:
                return await _metric(mail_stack, "auth", RETRIED) >= retries_before + BATCH

            await _eventually(retried, f"{BATCH} delivery attempts fail while SMTP is down")
            assert await _metric(mail_stack, "auth", "auth_outbox_depth") > 0
        finally:
            # An empty catcher (it keeps mail in memory) on the same ports.
            mail_stack.start_process("mailcatcher")

        copies = await _settled_mail(mail_stack, mail, emails, rejected_before=rejected)
        doubled = {e: len(found) for e, found in copies.items() if len(found) != 1}
        assert not doubled, f"mail doubled: {doubled}"
        _assert_one_message_id_each(copies)


async def test_mail_in_flight_when_email_svc_is_killed_arrives_once_per_message_id(
    mail_stack: Stack,
) -> None:
    """SIGKILL email-svc as soon as the first of 20 registration mails is seen at the SMTP
    server, while the rest are still being registered and relayed; after a restart every
    registration has its mail, exactly one Message-ID (its outbox id) each.

    SMTP itself is at-least-once (email-svc README, "Idempotency"): a message the server
    accepted in the instant before the kill, before email-svc committed it as sent, is sent
    again after the restart with the same Message-ID, so a receiver that drops repeated
    Message-IDs (Mailpit's --ignore-duplicate-ids, mailbox providers) shows it once. Killing
    just as mail lands hits that window often, so a second raw copy is allowed only for a
    message the server had accepted before the kill, and never a third one.
    """
    emails = [_email("killed") for _ in range(BATCH)]
    wanted = {e.lower() for e in emails}
    rejected = await _metric(mail_stack, "auth", REJECTED)
    retries_before = await _metric(mail_stack, "auth", RETRIED)
    async with (
        _gateway(mail_stack) as api,
        MailpitClient(mail_stack.http_url("mailcatcher")) as mail,
    ):
        await mail.delete_messages()

        async def register_all() -> list[httpx.Response]:
            # One after another, so the relay is delivering while registrations go on.
            return [await _register(api, e) for e in emails]

        registering = asyncio.create_task(register_all())
        try:
            await mail.wait_for(lambda ms: bool(_per_recipient(ms, wanted)), within=MAIL_WITHIN)
            mail_stack.kill("email")
            killed_at = datetime.now(UTC)
        finally:
            responses = await registering
        assert [r.status_code for r in responses] == [200] * BATCH, [
            r.text for r in responses if r.status_code != 200
        ]
        delivered_before_restart = _per_recipient(await mail.messages(), wanted)
        assert len(delivered_before_restart) < BATCH, "all mail was delivered before the kill"

        mail_stack.start_process("email")
        copies = await _settled_mail(mail_stack, mail, emails, rejected_before=rejected)
        _assert_one_message_id_each(copies)
        for email, found in copies.items():
            if len(found) > 1:
                assert len(found) == 2, f"{email} got {len(found)} copies"
                accepted = datetime.fromisoformat(found[0].created)
                assert accepted <= killed_at, (
                    f"{email}: second copy of mail accepted after the kill"
                )
        assert await _metric(mail_stack, "auth", RETRIED) > retries_before


async def test_a_repeated_send_email_with_one_message_id_sends_one_mail(mail_stack: Stack) -> None:
    email = _email("resend")
    request = email_pb2.SendEmailRequest(
        message_id=f"e2e-{uuid.uuid4().hex}",
        to=email,
        template="welcome",
        params={"verification_url": "https://example.com/app/verify-email?token=abc"},
    )
    async with MailpitClient(mail_stack.http_url("mailcatcher")) as mail:
        await mail.delete_messages()
        async with mail_stack.grpc_channel("email", caller="auth") as channel:
            stub = email_pb2_grpc.EmailServiceStub(channel)
            first = await stub.SendEmail(request, timeout=15)
            second = await stub.SendEmail(request, timeout=15)
        assert (first.message_id, first.duplicate) == (request.message_id, False)
        assert (second.message_id, second.duplicate) == (request.message_id, True)

        # The first call returned after the catcher accepted the mail; the second sent none.
        found = await mail.wait_for(_arrived({email}), within=MAIL_WITHIN)
        ours = [m for m in found if email in m.recipients]
        assert len(ours) == 1, ours
        assert ours[0].message_id.startswith(request.message_id + "@")


async def test_concurrent_send_email_calls_with_one_message_id_send_one_mail(
    mail_stack: Stack,
) -> None:
    email = _email("race")
    request = email_pb2.SendEmailRequest(
        message_id=f"e2e-{uuid.uuid4().hex}",
        to=email,
        template="welcome",
        params={"verification_url": "https://example.com/app/verify-email?token=abc"},
    )
    async with MailpitClient(mail_stack.http_url("mailcatcher")) as mail:
        await mail.delete_messages()
        async with mail_stack.grpc_channel("email", caller="auth") as channel:
            stub = email_pb2_grpc.EmailServiceStub(channel)
            responses = await asyncio.gather(
                *(stub.SendEmail(request, timeout=15) for _ in range(5))
            )
        assert sorted(r.duplicate for r in responses) == [False, True, True, True, True]

        found = await mail.wait_for(_arrived({email}), within=MAIL_WITHIN)
        assert len([m for m in found if email in m.recipients]) == 1
