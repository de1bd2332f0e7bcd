import pytest

from auth_svc.domain.errors import InvalidPassword
from auth_svc.domain.passwords import MAX_BYTES, check_new_password, password_bytes


@pytest.mark.parametrize(
    "password",
    [
        "a" * 8,
        "a" * 72,
        "é" * 36,  # 72 bytes in 36 characters
        "😀" * 18,  # 72 bytes in 18 characters
        "€" * 24,  # 3-byte characters
    ],
)
def test_passwords_within_the_limits_are_accepted(password: str) -> None:
    assert check_new_password(password) == password.encode("utf-8")


@pytest.mark.parametrize(
    "password",
    [
        "a" * 73,
        "é" * 36 + "a",  # 73 bytes, 37 characters
        "😀" * 19,
        "a" * 71 + "é",  # the 72nd character pushes it to 73 bytes
    ],
)
def test_passwords_over_72_bytes_are_rejected_not_truncated(password: str) -> None:
    with pytest.raises(InvalidPassword, match="at most 72 bytes"):
        check_new_password(password)


@pytest.mark.parametrize("password", ["", "short", "a" * 7, "😀" * 7])
def test_passwords_under_8_characters_are_rejected(password: str) -> None:
    with pytest.raises(InvalidPassword, match="at least 8 characters"):
        check_new_password(password)


def test_compatibility_forms_hash_the_same() -> None:
    # "ﬁ" (U+FB01) and "e\u0301" normalise to "fi" and "é".
    assert password_bytes("ﬁle-cafe\u0301") == password_bytes("file-café")
    assert len(password_bytes("x" * MAX_BYTES)) == MAX_BYTES
