"""TOTP codes (RFC 6238 test vector), the ±1 step window, and recovery-code digests."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

from auth_svc.domain import totp

# RFC 6238 Appendix B: the SHA-1 secret "12345678901234567890", 8 digits at T=59 is 94287082;
# 6 digits are its last six.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


def test_codes_follow_rfc_6238() -> None:
    assert totp.code_at(RFC_SECRET, 59 // 30) == "287082"
    assert totp.code_at(RFC_SECRET, 1111111109 // 30) == "081804"


def test_a_code_matches_its_step_and_one_either_side_only() -> None:
    now = 1_700_000_000.0
    step = int(now // 30)
    for offset in (-1, 0, 1):
        code = totp.code_at(RFC_SECRET, step + offset)
        assert totp.matching_step(RFC_SECRET, code, now) == step + offset
    for offset in (-2, 2):
        assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, step + offset), now) is None
    spaced = totp.code_at(RFC_SECRET, step)
    assert totp.matching_step(RFC_SECRET, f"{spaced[:3]} {spaced[3:]}", now) == step


def test_anything_but_six_digits_is_not_a_totp_code() -> None:
    for code in ("12345", "1234567", "12a456", "", "١٢٣٤٥٦"):
        assert not totp.is_totp_code(code)
        assert totp.matching_step(RFC_SECRET, code, 0.0) is None


def test_the_enrollment_uri_names_the_issuer_and_account() -> None:
    secret = totp.new_secret()
    uri = urlsplit(totp.provisioning_uri(secret, "ann@example.com"))
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/Tollgate:ann%40example.com")
    assert parse_qs(uri.query) == {"secret": [secret], "issuer": ["Tollgate"]}
    assert totp.qr_code(uri.geturl()).startswith("data:image/svg+xml")


def test_recovery_codes_are_ten_distinct_and_typed_loosely() -> None:
    codes = totp.new_recovery_codes()
    assert len(set(codes)) == 10
    code = codes[0]
    loose = f" {code.upper().replace('-', ' ')} "
    assert totp.recovery_digest(loose) == totp.recovery_digest(code)
    assert totp.recovery_digest(codes[1]) != totp.recovery_digest(code)
