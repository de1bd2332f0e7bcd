"""HTTP headers ↔ gRPC metadata, Grpc-Timeout, X-Forwarded-For and trusted proxies."""

from __future__ import annotations

import pytest

from gateway.headers import (
    InvalidHeaderError,
    TrustedProxies,
    check_metadata,
    forwarded_for,
    metadata_from_headers,
    parse_grpc_timeout,
    response_headers,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("10S", 10.0),
        ("500m", 0.5),
        ("2M", 120.0),
        ("1H", 3600.0),
        ("250u", 0.00025),
        ("1000000n", 0.001),
        ("99999999S", 99999999.0),
    ],
)
def test_grpc_timeout_units(value: str, seconds: float) -> None:
    assert parse_grpc_timeout(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "S", "10", "10s", "1.5S", "-1S", "123456789S", "10 S"])
def test_malformed_grpc_timeout_is_rejected(value: str) -> None:
    with pytest.raises(InvalidHeaderError):
        parse_grpc_timeout(value)


def test_grpc_metadata_headers_become_metadata() -> None:
    headers = [
        (b"grpc-metadata-x-tenant", b"acme"),
        (b"grpc-metadata-blob-bin", b"AQID"),
        (b"grpc-metadata-authorization", b"Bearer forged"),
        (b"grpc-metadata-grpc-timeout", b"1S"),
        (b"grpc-metadata-bad key", b"x"),
        (b"x-other", b"ignored"),
    ]
    assert metadata_from_headers(headers) == [("x-tenant", "acme"), ("blob-bin", b"\x01\x02\x03")]


def test_bad_base64_in_binary_metadata_is_rejected() -> None:
    with pytest.raises(InvalidHeaderError):
        metadata_from_headers([(b"grpc-metadata-blob-bin", b"!!!")])


def test_response_metadata_becomes_grpc_metadata_headers() -> None:
    headers = response_headers(
        [("x-request-id", "r1"), ("content-type", "application/grpc")],
        [("x-ledger", "7"), ("grpc-status-details-bin", b"secret"), ("sig-bin", b"\x00")],
        None,
    )
    assert headers == [
        (b"grpc-metadata-x-request-id", b"r1"),
        (b"grpc-metadata-x-ledger", b"7"),
        (b"grpc-metadata-sig-bin", b"AA=="),
    ]


def test_forwarded_for_appends_the_peer() -> None:
    assert forwarded_for(None, "10.0.0.1") == "10.0.0.1"
    assert forwarded_for("1.2.3.4", "10.0.0.1") == "1.2.3.4, 10.0.0.1"
    assert forwarded_for("1.2.3.4", "") == "1.2.3.4"


def test_untrusted_peer_is_the_client() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    assert proxies.client_address("203.0.113.5", "1.1.1.1") == "203.0.113.5"


def test_trusted_proxy_reveals_the_last_untrusted_hop() -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "192.168.1.1"])
    assert proxies.client_address("10.1.2.3", "6.6.6.6, 198.51.100.7, 192.168.1.1") == (
        "198.51.100.7"
    )


def test_no_trusted_proxies_means_the_peer() -> None:
    assert TrustedProxies([]).client_address("10.1.2.3", "6.6.6.6") == "10.1.2.3"


def test_a_hop_that_is_no_address_stops_the_walk() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    # The proxy passed the client's header through without appending: do not believe it.
    assert proxies.client_address("10.1.2.3", "6.6.6.6\xe9") == "10.1.2.3"
    assert proxies.client_address("10.1.2.3", "unknown, 10.0.0.9") == "10.0.0.9"
    # Addresses come back in canonical form.
    assert proxies.client_address("10.1.2.3", "2001:DB8::0:1") == "2001:db8::1"


def test_metadata_values_must_be_printable_ascii() -> None:
    check_metadata([("authorization", "Bearer abc"), ("x-bin", b"\xff\x00")])
    for value in ("v\xe9", "a\nb", "\x7f"):
        with pytest.raises(InvalidHeaderError, match="x-a header must be printable ASCII"):
            check_metadata([("x-a", value)])


def test_hops_with_ports_are_read_as_their_address() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    assert proxies.client_address("10.1.2.3", "198.51.100.7:5678") == "198.51.100.7"
    assert proxies.client_address("10.1.2.3", "[2001:db8::1]:443, 10.0.0.9:80") == "2001:db8::1"
    assert proxies.client_address("10.1.2.3", "198.51.100.7:http") == "10.1.2.3"


def test_a_backend_may_ask_for_another_2xx_status_and_the_header_is_dropped() -> None:
    from gateway.headers import success_status

    headers = [(b"grpc-metadata-x-http-code", b"202"), (b"grpc-metadata-other", b"v")]
    assert success_status(headers) == (202, [(b"grpc-metadata-other", b"v")])
    # Only a 2xx: a success never turns into an error or a redirect.
    for value in (b"500", b"302", b"abc", b""):
        assert success_status([(b"grpc-metadata-x-http-code", value)]) == (200, [])
    assert success_status([]) == (200, [])
