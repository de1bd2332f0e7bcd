import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from auth_svc.domain.errors import (
    VerificationTokenExpired,
    VerificationTokenUnknown,
    VerificationTokenUsed,
)
from auth_svc.domain.verification import (
    StoredVerification,
    check_verification,
    new_verification_token,
    verification_url,
)

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_only_the_sha256_of_the_token_is_kept() -> None:
    token = new_verification_token()
    assert token.digest == hashlib.sha256(token.token.encode()).digest()
    assert len(token.token) >= 43  # 32 random bytes
    assert new_verification_token().token != token.token


def test_link_points_at_the_web_app_and_carries_the_token() -> None:
    url = verification_url("https://tollgate.example/", "abc-_123")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://tollgate.example/app/verify-email"
    )
    assert parse_qs(parts.query) == {"token": ["abc-_123"]}


def test_a_fresh_token_verifies_its_user() -> None:
    stored = StoredVerification(user_id="u1", expires_at=NOW + timedelta(hours=1), used_at=None)
    assert check_verification(stored, NOW) == "u1"


def test_unknown_used_and_expired_tokens_are_refused_with_distinct_errors() -> None:
    with pytest.raises(VerificationTokenUnknown):
        check_verification(None, NOW)
    used = StoredVerification(user_id="u1", expires_at=NOW + timedelta(hours=1), used_at=NOW)
    with pytest.raises(VerificationTokenUsed):
        check_verification(used, NOW)
    expired = StoredVerification(user_id="u1", expires_at=NOW, used_at=None)
    with pytest.raises(VerificationTokenExpired):
        check_verification(expired, NOW)
