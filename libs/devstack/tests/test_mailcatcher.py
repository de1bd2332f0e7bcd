"""The development mail catcher: SMTP in, Mailpit-compatible HTTP API out."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from tollgate_devstack.mailcatcher import MailCatcher
from tollgate_devstack.mailcatcher.client import MailpitClient, MessageNotFoundError
from tollgate_devstack.testing import free_port


def _mail(
    subject: str = "Hello",
    to: str = "Bob <bob@example.com>",
    message_id: str | None = None,
    text: str = "Hello Bob,\nhow are you?\n",
    html: str | None = "<p>Hello <b>Bob</b></p>",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Alice <alice@example.com>"
    message["To"] = to
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


async def _send(port: int, message: EmailMessage, recipients: list[str] | None = None) -> None:
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port, recipients=recipients)


def _eml_files(directory: Path) -> int:
    return len(list(directory.glob("*.eml")))


def _spawn_catcher(smtp_port: int, http_port: int, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tollgate_devstack.mailcatcher",
                "--host",
                "127.0.0.1",
                "--smtp-port",
                str(smtp_port),
                "--http-port",
                str(http_port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
async def catcher() -> AsyncIterator[MailCatcher]:
    async with MailCatcher(smtp_port=0, http_port=0) as running:
        yield running


@pytest.fixture
async def client(catcher: MailCatcher) -> AsyncIterator[MailpitClient]:
    async with MailpitClient(catcher.http_url) as mail:
        yield mail


async def test_message_sent_over_smtp_is_listed_with_mailpit_fields(
    catcher: MailCatcher, client: MailpitClient
) -> None:
    await _send(catcher.smtp_port, _mail(message_id="<m-1@example.com>"))

    async with httpx.AsyncClient(base_url=catcher.http_url) as http:
        body = (await http.get("/api/v1/messages")).json()
    assert {"total", "unread", "count", "messages_count", "start", "tags", "messages"} <= set(body)
    assert (body["total"], body["unread"], body["count"], body["start"]) == (1, 1, 1, 0)
    [summary] = body["messages"]
    assert summary["MessageID"] == "m-1@example.com"
    assert summary["From"] == {"Name": "Alice", "Address": "alice@example.com"}
    assert summary["To"] == [{"Name": "Bob", "Address": "bob@example.com"}]
    assert summary["Subject"] == "Hello"
    assert summary["Snippet"] == "Hello Bob, how are you?"
    assert summary["Size"] > 0
    assert summary["Read"] is False
    assert summary["Created"].endswith("Z")
    assert len(catcher.messages()) == 1

    [listed] = await client.messages()
    assert listed.id == summary["ID"]
    assert listed.recipients == ["bob@example.com"]


async def test_message_detail_has_bodies_and_bcc_and_marks_read(
    catcher: MailCatcher, client: MailpitClient
) -> None:
    await _send(catcher.smtp_port, _mail(), recipients=["bob@example.com", "hidden@example.com"])
    [summary] = await client.messages()

    message = await client.get_message(summary.id)
    assert message.text == "Hello Bob,\nhow are you?\n"
    assert message.html.strip() == "<p>Hello <b>Bob</b></p>"
    assert [a.address for a in message.bcc] == ["hidden@example.com"]
    assert message.raw["Date"]
    assert {"ID", "MessageID", "From", "To", "Cc", "Bcc", "Subject", "Text", "HTML", "Size"} <= set(
        message.raw
    )
    page = await client.list_messages()
    assert page.unread == 0
    assert page.messages[0].read
    assert (await client.get_message("latest")).id == summary.id
    assert b"Subject: Hello" in await client.raw_message(summary.id)
    with pytest.raises(MessageNotFoundError):
        await client.get_message("no-such-id")


async def test_delete_by_ids_and_delete_all(catcher: MailCatcher, client: MailpitClient) -> None:
    for n in range(3):
        await _send(catcher.smtp_port, _mail(subject=f"mail {n}"))
    newest_first = await client.messages()
    assert [m.subject for m in newest_first] == ["mail 2", "mail 1", "mail 0"]

    await client.delete_messages([newest_first[1].id])
    assert [m.subject for m in await client.messages()] == ["mail 2", "mail 0"]

    await client.delete_messages()
    assert await client.messages() == []
    assert catcher.messages() == []


async def test_list_pages_newest_first(catcher: MailCatcher, client: MailpitClient) -> None:
    for n in range(5):
        await _send(catcher.smtp_port, _mail(subject=f"mail {n}"))
    page = await client.list_messages(start=1, limit=2)
    assert [m.subject for m in page.messages] == ["mail 3", "mail 2"]
    assert (page.total, page.messages_count, page.start) == (5, 5, 1)
    assert len(await client.messages(page_size=2)) == 5


async def test_stopped_catcher_refuses_smtp_and_restarts_on_the_same_ports(
    catcher: MailCatcher, client: MailpitClient
) -> None:
    await _send(catcher.smtp_port, _mail(subject="before"))
    smtp_port, http_port = catcher.smtp_port, catcher.http_port
    await catcher.stop()
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await _send(smtp_port, _mail(subject="while down"))

    await catcher.start()
    assert (catcher.smtp_port, catcher.http_port) == (smtp_port, http_port)
    await _send(smtp_port, _mail(subject="after"))
    assert [m.subject for m in await client.messages()] == ["after", "before"]


async def test_store_dir_keeps_messages_across_catchers(tmp_path: Path) -> None:
    async with MailCatcher(smtp_port=0, http_port=0, store_dir=tmp_path) as first:
        await _send(first.smtp_port, _mail(subject="kept"))
        await _send(first.smtp_port, _mail(subject="deleted"))
        first.store.delete([first.messages()[1].id])
    assert _eml_files(tmp_path) == 1

    async with (
        MailCatcher(smtp_port=0, http_port=0, store_dir=tmp_path) as second,
        MailpitClient(second.http_url) as mail,
    ):
        [kept] = await mail.messages()
        assert kept.subject == "kept"
        assert (await mail.get_message(kept.id)).text.startswith("Hello Bob")


async def test_ignore_duplicate_ids_keeps_the_first_copy_only() -> None:
    async with MailCatcher(smtp_port=0, http_port=0, ignore_duplicate_ids=True) as running:
        for _ in range(2):
            await _send(running.smtp_port, _mail(message_id="<same@example.com>"))
        await _send(running.smtp_port, _mail(message_id="<other@example.com>"))
        assert [m.message_id for m in running.messages()] == [
            "same@example.com",
            "other@example.com",
        ]


async def test_runs_as_a_process_and_stops_on_sigterm(tmp_path: Path) -> None:
    smtp_port, http_port = free_port(), free_port()
    log_path = tmp_path / "mailcatcher.log"
    proc = _spawn_catcher(smtp_port, http_port, log_path)
    try:
        async with MailpitClient(f"http://127.0.0.1:{http_port}") as mail:
            await mail.wait_until_ready()
            await _send(smtp_port, _mail(to="carol@example.com", subject="from a process"))
            message = await mail.wait_for_message("carol@example.com")
            assert message.subject == "from a process"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log_text = log_path.read_text()
    assert '"msg": "mail_received"' in log_text
    assert '"msg": "mailcatcher_stopped"' in log_text
