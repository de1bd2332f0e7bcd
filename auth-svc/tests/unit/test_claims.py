from datetime import UTC, datetime, timedelta

import pytest

from auth_svc.domain.claims import ACCESS, REFRESH, TokenPolicy, build_claims

POLICY = TokenPolicy(
    issuer="tollgate-auth",
    audience="tollgate",
    access_ttl=timedelta(minutes=15),
    refresh_ttl=timedelta(days=30),
)
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_access_claims_carry_every_required_claim() -> None:
    claims = build_claims(POLICY, user_id="u1", session_id="s1", token_use=ACCESS, now=NOW)
    assert claims["iss"] == "tollgate-auth"
    assert claims["aud"] == "tollgate"
    assert claims["sub"] == "u1"
    assert claims["sid"] == "s1"
    assert claims["token_use"] == "access"
    assert claims["iat"] == int(NOW.timestamp())
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["jti"]


def test_refresh_claims_live_longer_and_keep_the_given_jti() -> None:
    claims = build_claims(
        POLICY, user_id="u1", session_id="s1", token_use=REFRESH, now=NOW, token_id="j1"
    )
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600
    assert claims["jti"] == "j1"
    assert claims["token_use"] == "refresh"


def test_every_token_gets_its_own_jti() -> None:
    one = build_claims(POLICY, user_id="u", session_id="s", token_use=ACCESS, now=NOW)
    two = build_claims(POLICY, user_id="u", session_id="s", token_use=ACCESS, now=NOW)
    assert one["jti"] != two["jti"]


def test_unknown_token_use_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown token use"):
        build_claims(POLICY, user_id="u", session_id="s", token_use="id", now=NOW)
