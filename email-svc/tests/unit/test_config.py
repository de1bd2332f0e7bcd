"""EmailSettings: defaults, the EMAIL_ prefix, and rejected combinations."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from email_svc.config import EmailSettings
from tollgate_kit.db import migrations_dir


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EMAIL_GRPC_PORT", "EMAIL_HTTP_PORT", "EMAIL_SMTP_HOST", "EMAIL_SMTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = EmailSettings()
    assert (settings.grpc_port, settings.http_port) == (50053, 9103)
    assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", 1025)
    assert settings.sender == "Tollgate <no-reply@tollgate.local>"
    assert settings.database_url.endswith("/email")
    assert settings.migrations_dir is None
    assert (migrations_dir("email_svc", settings.migrations_dir) / "env.py").is_file()


def test_environment_with_email_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_SMTP_HOST", "mailpit")
    monkeypatch.setenv("EMAIL_SMTP_PORT", "2525")
    monkeypatch.setenv("EMAIL_SMTP_USERNAME", "tollgate")
    monkeypatch.setenv("EMAIL_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("EMAIL_SMTP_SECURITY", "starttls")
    monkeypatch.setenv("AUTH_SMTP_PORT", "1")
    settings = EmailSettings()
    assert (settings.smtp_host, settings.smtp_port) == ("mailpit", 2525)
    assert settings.smtp_password is not None
    assert "s3cret" not in repr(settings)


def test_lease_must_outlast_the_smtp_timeout() -> None:
    with pytest.raises(ValidationError, match="send_lease_seconds"):
        EmailSettings(smtp_timeout_seconds=30, send_lease_seconds=10)


@pytest.mark.parametrize("sender", ["no address", "Tollgate <x@y.z>\r\nBcc: a@b.c"])
def test_sender_must_be_one_address(sender: str) -> None:
    with pytest.raises(ValidationError):
        EmailSettings(sender=sender)


def test_credentials_never_cross_an_unencrypted_connection_unless_allowed() -> None:
    with pytest.raises(ValidationError, match="clear text"):
        EmailSettings(smtp_username="u", smtp_password="p", smtp_security="none")
    allowed = EmailSettings(
        smtp_username="u", smtp_password="p", smtp_security="none", smtp_allow_plaintext_auth=True
    )
    assert allowed.smtp_username == "u"
    assert EmailSettings(smtp_username="u", smtp_password="p", smtp_security="tls").smtp_username


@pytest.mark.parametrize("given", [{"smtp_username": "u"}, {"smtp_password": "p"}])
def test_a_username_needs_a_password_and_the_other_way_round(given: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="go together"):
        EmailSettings(smtp_security="tls", **given)
