"""The message that goes out: headers, parts, a stable Message-ID, the request fingerprint."""

from __future__ import annotations

import pytest

from email_svc.domain import EmailRequest, InvalidMessageId, build_mime, prepare
from email_svc.domain.outgoing import fingerprint, message_id_header

SENDER = "Tollgate <no-reply@tollgate.local>"
VERIFY = "https://tollgate.test/verify?token=t"


def _request(**changes: object) -> EmailRequest:
    fields: dict[str, object] = {
        "message_id": "0b9d6a4e-8c1f-4f51-9d55-1d7b6a1c2e3f",
        "to": "Alice@Example.com",
        "template": "welcome",
        "params": {"verification_url": VERIFY, "name": "Alice"},
        **changes,
    }
    return EmailRequest(**fields)  # type: ignore[arg-type]


def test_mime_message_has_text_and_html_alternatives_and_headers() -> None:
    message = build_mime(prepare(_request()), SENDER)
    assert message["From"] == SENDER
    assert message["To"] == "Alice@example.com"
    assert message["Message-ID"] == "<0b9d6a4e-8c1f-4f51-9d55-1d7b6a1c2e3f@tollgate.local>"
    assert message["X-Tollgate-Template"] == "welcome"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert VERIFY in text.get_content()
    assert VERIFY in html.get_content()


def test_message_id_header_is_stable_and_safe_for_any_id() -> None:
    assert message_id_header("outbox.42", "tollgate.local") == "<outbox.42@tollgate.local>"
    odd = message_id_header("outbox 42 <x>", "tollgate.local")
    assert odd == message_id_header("outbox 42 <x>", "tollgate.local")
    assert " " not in odd
    assert odd.count("<") == 1


def test_fingerprint_ignores_param_order_but_not_content() -> None:
    one = fingerprint("a@example.com", "welcome", {"a": "1", "b": "2"})
    assert one == fingerprint("a@example.com", "welcome", {"b": "2", "a": "1"})
    assert one != fingerprint("a@example.com", "welcome", {"a": "1", "b": "3"})
    assert one != fingerprint("b@example.com", "welcome", {"a": "1", "b": "2"})


def test_fingerprint_uses_the_normalized_recipient() -> None:
    assert prepare(_request()).fingerprint == prepare(_request(to="Alice@EXAMPLE.com")).fingerprint


@pytest.mark.parametrize("message_id", ["", "x" * 201, "line\nbreak"])
def test_message_id_must_be_short_printable_text(message_id: str) -> None:
    with pytest.raises(InvalidMessageId):
        prepare(_request(message_id=message_id))
