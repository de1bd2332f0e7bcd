import pytest

from auth_svc.domain.emails import normalise_email
from auth_svc.domain.errors import InvalidEmail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann.Lee@Example.COM ", "Ann.Lee@example.com"),
        ("ü@exämple.de", "ü@exämple.de"),
    ],
)
def test_valid_addresses_are_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "not-an-email",
        "@example.com",
        "ann@",
        "ann@@example.com",
        "ann lee@example.com",
        "ann@localhost",
        "ann@exa mple.com",
        "a" * 65 + "@example.com",
        "ann@" + "b" * 250 + ".com",
        "<script>@example.com",
    ],
)
def test_garbage_is_rejected_with_a_reason(raw: str) -> None:
    with pytest.raises(InvalidEmail) as caught:
        normalise_email(raw)
    assert str(caught.value)
    assert caught.value.reason == "INVALID_EMAIL"
