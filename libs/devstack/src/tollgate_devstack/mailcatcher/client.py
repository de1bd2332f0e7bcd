"""An async client of Mailpit's HTTP API (the subset the mail catcher serves as well), so
tests and e2e read mail the same way from the dev catcher and from Mailpit in compose."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx


class MailpitError(Exception):
    """The API answered with an unexpected status."""


class MessageNotFoundError(MailpitError, LookupError):
    pass


@dataclass(frozen=True)
class Address:
    name: str
    address: str


@dataclass(frozen=True)
class MessageSummary:
    id: str
    message_id: str
    read: bool
    from_: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    subject: str
    created: str
    size: int
    attachments: int
    snippet: str
    raw: Mapping[str, Any]

    @property
    def recipients(self) -> list[str]:
        return [a.address for a in (*self.to, *self.cc, *self.bcc)]


@dataclass(frozen=True)
class Message:
    id: str
    message_id: str
    from_: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    subject: str
    date: str
    text: str
    html: str
    size: int
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class MessagesPage:
    total: int
    unread: int
    messages_count: int
    start: int
    messages: tuple[MessageSummary, ...]


def _address(data: Any) -> Address | None:
    if not isinstance(data, Mapping):
        return None
    return Address(str(data.get("Name") or ""), str(data.get("Address") or ""))


def _addresses(data: Any) -> tuple[Address, ...]:
    # Mailpit encodes an empty list as null.
    if not isinstance(data, list):
        return ()
    return tuple(a for a in map(_address, data) if a is not None)


def _summary(data: Mapping[str, Any]) -> MessageSummary:
    return MessageSummary(
        id=str(data["ID"]),
        message_id=str(data.get("MessageID") or ""),
        read=bool(data.get("Read")),
        from_=_address(data.get("From")),
        to=_addresses(data.get("To")),
        cc=_addresses(data.get("Cc")),
        bcc=_addresses(data.get("Bcc")),
        subject=str(data.get("Subject") or ""),
        created=str(data.get("Created") or ""),
        size=int(data.get("Size") or 0),
        attachments=int(data.get("Attachments") or 0),
        snippet=str(data.get("Snippet") or ""),
        raw=data,
    )


def _message(data: Mapping[str, Any]) -> Message:
    return Message(
        id=str(data["ID"]),
        message_id=str(data.get("MessageID") or ""),
        from_=_address(data.get("From")),
        to=_addresses(data.get("To")),
        cc=_addresses(data.get("Cc")),
        bcc=_addresses(data.get("Bcc")),
        reply_to=_addresses(data.get("ReplyTo")),
        subject=str(data.get("Subject") or ""),
        date=str(data.get("Date") or ""),
        text=str(data.get("Text") or ""),
        html=str(data.get("HTML") or ""),
        size=int(data.get("Size") or 0),
        raw=data,
    )


class MailpitClient:
    """``async with MailpitClient("http://127.0.0.1:8025") as mail: await mail.messages()``"""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> MailpitClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _get(self, path: str, **params: int) -> httpx.Response:
        response = await self._http.get(path, params=params or None)
        if response.status_code == 404:
            raise MessageNotFoundError(path)
        if response.status_code != 200:
            raise MailpitError(f"GET {path}: HTTP {response.status_code}: {response.text[:200]}")
        return response

    async def list_messages(self, *, start: int = 0, limit: int = 50) -> MessagesPage:
        """One page, newest first (``GET /api/v1/messages``)."""
        data = (await self._get("/api/v1/messages", start=start, limit=limit)).json()
        messages = tuple(_summary(m) for m in data.get("messages") or [])
        return MessagesPage(
            total=int(data.get("total") or 0),
            unread=int(data.get("unread") or 0),
            messages_count=int(data.get("messages_count") or 0),
            start=int(data.get("start") or 0),
            messages=messages,
        )

    async def messages(self, *, page_size: int = 200) -> list[MessageSummary]:
        """Every message, newest first."""
        found: list[MessageSummary] = []
        while True:
            page = await self.list_messages(start=len(found), limit=page_size)
            found.extend(page.messages)
            if not page.messages or len(found) >= page.messages_count:
                return found

    async def get_message(self, message_id: str = "latest") -> Message:
        """``GET /api/v1/message/{ID}`` (``latest`` is the newest); marks it read."""
        return _message((await self._get(f"/api/v1/message/{message_id}")).json())

    async def raw_message(self, message_id: str) -> bytes:
        return (await self._get(f"/api/v1/message/{message_id}/raw")).content

    async def delete_messages(self, ids: Sequence[str] | None = None) -> None:
        """Delete ``ids``, or every message when ``ids`` is None."""
        body = {"IDs": list(ids)} if ids else None
        response = await self._http.request("DELETE", "/api/v1/messages", json=body)
        if response.status_code != 200:
            raise MailpitError(f"DELETE /api/v1/messages: HTTP {response.status_code}")

    async def wait_for(
        self,
        condition: Callable[[list[MessageSummary]], bool],
        *,
        within: float = 10.0,
        interval: float = 0.05,
    ) -> list[MessageSummary]:
        """Poll until ``condition(messages)`` holds, at most ``within`` seconds; returns those
        messages.
        Raises TimeoutError with what was there at the deadline."""
        deadline = time.monotonic() + within
        while True:
            found = await self.messages()
            if condition(found):
                return found
            if time.monotonic() >= deadline:
                subjects = [(m.recipients, m.subject) for m in found]
                raise TimeoutError(f"mail condition not met in {within}s; have {subjects}")
            await asyncio.sleep(interval)

    async def wait_for_message(
        self, to: str, *, subject: str | None = None, within: float = 10.0
    ) -> Message:
        """The newest message to ``to`` (and with ``subject``), waiting for it to arrive."""

        def matches(m: MessageSummary) -> bool:
            to_match = to.lower() in (r.lower() for r in m.recipients)
            return to_match and (subject is None or m.subject == subject)

        found = await self.wait_for(lambda ms: any(map(matches, ms)), within=within)
        return await self.get_message(next(m for m in found if matches(m)).id)

    async def wait_until_ready(self, *, within: float = 15.0) -> None:
        """Wait until the API answers (the server may still be starting)."""
        deadline = time.monotonic() + within
        while True:
            try:
                await self.list_messages(limit=1)
                return
            except (httpx.TransportError, MailpitError):
                if time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(0.05)
