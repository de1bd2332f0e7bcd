"""A send request turned into the exact message that goes out, and its idempotency key."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, localtime

from email_svc.domain.errors import InvalidMessageId, InvalidRecipient
from email_svc.domain.recipients import normalize_recipient
from email_svc.domain.templates import RenderedEmail, render

MAX_MESSAGE_ID = 200
# A dot-atom (RFC 5322) can be used as the left part of a Message-ID header as it is.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@dataclass(frozen=True)
class EmailRequest:
    message_id: str
    to: str
    template: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutgoingEmail:
    message_id: str
    recipient: str
    template: str
    content: RenderedEmail
    # Hash of what was asked for: a reused message id with other content is detected.
    fingerprint: str


def prepare(request: EmailRequest) -> OutgoingEmail:
    """Validate and render ``request``; raises an InvalidEmailRequest subclass."""
    message_id = request.message_id
    if not message_id or len(message_id) > MAX_MESSAGE_ID or not message_id.isprintable():
        raise InvalidMessageId(f"message_id must be 1-{MAX_MESSAGE_ID} printable characters")
    recipient = normalize_recipient(request.to)
    content = render(request.template, request.params)
    return OutgoingEmail(
        message_id=message_id,
        recipient=recipient,
        template=request.template,
        content=content,
        fingerprint=fingerprint(recipient, request.template, request.params),
    )


def fingerprint(recipient: str, template: str, params: Mapping[str, str]) -> str:
    canonical = json.dumps(
        {"to": recipient, "template": template, "params": dict(params)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def message_id_header(message_id: str, domain: str) -> str:
    """A stable ``Message-ID`` for ``message_id``: every attempt of one send carries the same
    header, so a receiver can drop a copy that a retry after a crash may produce."""
    left = (
        message_id
        if _DOT_ATOM.fullmatch(message_id)
        else hashlib.sha256(message_id.encode()).hexdigest()
    )
    return f"<{left}@{domain}>"


def sender_domain(sender: str) -> str:
    [(_, address)] = getaddresses([sender])
    _, _, domain = address.rpartition("@")
    return domain or "localhost"


def build_mime(email: OutgoingEmail, sender: str) -> EmailMessage:
    """The multipart/alternative (text + HTML) message for ``email`` from ``sender``."""
    message = EmailMessage()
    message["From"] = sender
    try:
        message["To"] = email.recipient
        addresses = message["To"].addresses
    except (ValueError, TypeError, AttributeError):
        raise InvalidRecipient("invalid recipient address") from None
    # The header, as any mail software will read it, must name the address that was checked.
    if [a.addr_spec for a in addresses] != [email.recipient]:
        raise InvalidRecipient("invalid recipient address")
    message["Subject"] = email.content.subject
    message["Date"] = format_datetime(localtime())
    message["Message-ID"] = message_id_header(email.message_id, sender_domain(sender))
    message["X-Tollgate-Template"] = email.template
    message.set_content(email.content.text)
    message.add_alternative(email.content.html, subtype="html")
    return message
