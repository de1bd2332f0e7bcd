"""Caught messages and their in-memory store (optionally mirrored to ``.eml`` files)."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

SNIPPET_LENGTH = 250
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Address:
    name: str
    address: str

    def to_json(self) -> dict[str, str]:
        return {"Name": self.name, "Address": self.address}


@dataclass
class CaughtMessage:
    """One received message, parsed once on arrival."""

    id: str
    raw: bytes
    created: datetime
    envelope_from: str
    envelope_to: list[str]
    message_id: str
    from_: Address | None
    to: list[Address]
    cc: list[Address]
    bcc: list[Address]
    reply_to: list[Address]
    return_path: str
    subject: str
    date: datetime
    text: str
    html: str
    attachments: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    read: bool = False

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def snippet(self) -> str:
        source = self.text or _TAG.sub(" ", self.html)
        return _SPACE.sub(" ", source).strip()[:SNIPPET_LENGTH]

    def summary_json(self) -> dict[str, Any]:
        """Mailpit's ``MessageSummary``."""
        return {
            "ID": self.id,
            "MessageID": self.message_id,
            "Read": self.read,
            "From": self.from_.to_json() if self.from_ else None,
            "To": [a.to_json() for a in self.to],
            "Cc": [a.to_json() for a in self.cc],
            "Bcc": [a.to_json() for a in self.bcc],
            "ReplyTo": [a.to_json() for a in self.reply_to],
            "Subject": self.subject,
            "Created": _rfc3339(self.created),
            "Username": "",
            "Tags": [],
            "Size": self.size,
            "Attachments": self.attachments,
            "Snippet": self.snippet,
        }

    def detail_json(self) -> dict[str, Any]:
        """Mailpit's ``Message``."""
        return {
            "ID": self.id,
            "MessageID": self.message_id,
            "From": self.from_.to_json() if self.from_ else None,
            "To": [a.to_json() for a in self.to],
            "Cc": [a.to_json() for a in self.cc],
            "Bcc": [a.to_json() for a in self.bcc],
            "ReplyTo": [a.to_json() for a in self.reply_to],
            "ReturnPath": self.return_path,
            "Subject": self.subject,
            "ListUnsubscribe": {"Header": "", "Links": [], "Errors": "", "HeaderPost": ""},
            "Date": _rfc3339(self.date),
            "Tags": [],
            "Username": "",
            "Text": self.text,
            "HTML": self.html,
            "Size": self.size,
            "Inline": [],
            "Attachments": [],
        }


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _addresses(message: Message, name: str) -> list[Address]:
    values = [str(v) for v in message.get_all(name, [])]
    try:
        pairs = getaddresses(values)
    except (ValueError, IndexError):
        return []
    return [Address(n, a) for n, a in pairs if a]


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_type() != f"text/{subtype}":
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    # Bodies come off the wire with CRLF line ends; readers want plain newlines.
    return content.replace("\r\n", "\n") if isinstance(content, str) else ""


def parse_message(
    raw: bytes,
    *,
    envelope_from: str = "",
    envelope_to: Iterable[str] = (),
    created: datetime | None = None,
    message_id: str | None = None,
) -> CaughtMessage:
    """Parse ``raw`` leniently: a catcher keeps whatever it was given."""
    created = created or datetime.now(UTC)
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not isinstance(message, EmailMessage):  # policy.default always builds one
        raise TypeError("expected an EmailMessage")
    to, cc = _addresses(message, "To"), _addresses(message, "Cc")
    listed = {a.address.lower() for a in (*to, *cc)}
    envelope_to = list(envelope_to)
    bcc = [Address("", r) for r in envelope_to if r.lower() not in listed]
    senders = _addresses(message, "From")
    try:
        date_header = message.get("Date")
        date = parsedate_to_datetime(str(date_header)) if date_header else created
    except (TypeError, ValueError):
        date = created
    attachments = sum(1 for _ in message.iter_attachments())
    headers: dict[str, list[str]] = {}
    for key, value in message.raw_items():
        headers.setdefault(key, []).append(str(value))
    return CaughtMessage(
        id=message_id or secrets.token_urlsafe(16),
        raw=raw,
        created=created,
        envelope_from=envelope_from,
        envelope_to=envelope_to,
        message_id=str(message.get("Message-ID", "")).strip().strip("<>"),
        from_=senders[0] if senders else None,
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=_addresses(message, "Reply-To"),
        return_path=str(message.get("Return-Path", envelope_from)).strip().strip("<>"),
        subject=str(message.get("Subject", "")),
        date=date,
        text=_body(message, "plain"),
        html=_body(message, "html"),
        attachments=attachments,
        headers=headers,
    )


class MessageStore:
    """Messages in arrival order, at most ``max_messages`` (oldest dropped first; 0 = no
    limit). With ``store_dir`` each message is also a ``<ID>.eml`` file, reloaded on start."""

    def __init__(
        self,
        *,
        store_dir: Path | None = None,
        max_messages: int = 500,
        ignore_duplicate_ids: bool = False,
    ) -> None:
        if max_messages < 0:
            raise ValueError("max_messages must be >= 0")
        self._messages: OrderedDict[str, CaughtMessage] = OrderedDict()
        self._dir = store_dir
        self._max = max_messages
        self._ignore_duplicates = ignore_duplicate_ids

    def load(self) -> None:
        if self._dir is None:
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        files = sorted(self._dir.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        for path in files:
            created = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            caught = parse_message(path.read_bytes(), created=created, message_id=path.stem)
            self._messages[caught.id] = caught
        self._prune()

    def add(
        self, raw: bytes, *, envelope_from: str = "", envelope_to: Iterable[str] = ()
    ) -> CaughtMessage | None:
        """Keep ``raw``; None when it was dropped as a duplicate Message-ID."""
        caught = parse_message(raw, envelope_from=envelope_from, envelope_to=envelope_to)
        if self._ignore_duplicates and self._has_message_id(caught.message_id):
            return None
        if self._dir is not None:
            temp = self._dir / f".{caught.id}.tmp"
            temp.write_bytes(raw)
            temp.replace(self._dir / f"{caught.id}.eml")
        self._messages[caught.id] = caught
        self._prune()
        return caught

    def _has_message_id(self, message_id: str) -> bool:
        return bool(message_id) and any(m.message_id == message_id for m in self._messages.values())

    def _prune(self) -> None:
        while self._max and len(self._messages) > self._max:
            oldest = next(iter(self._messages))
            self.delete([oldest])

    def all(self) -> list[CaughtMessage]:
        """Oldest first."""
        return list(self._messages.values())

    def get(self, message_id: str) -> CaughtMessage | None:
        if message_id == "latest":
            return next(reversed(self._messages.values()), None)
        return self._messages.get(message_id)

    def delete(self, ids: Iterable[str] | None = None) -> None:
        """Delete ``ids`` (unknown ones are ignored), or everything."""
        targets = list(self._messages) if ids is None else list(ids)
        for target in targets:
            if self._messages.pop(target, None) is not None and self._dir is not None:
                with contextlib.suppress(FileNotFoundError):
                    (self._dir / f"{target}.eml").unlink()
