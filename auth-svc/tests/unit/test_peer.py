"""Whose word on the client's address auth-svc takes (its login limit keys on it)."""

from __future__ import annotations

from typing import Any, cast

import grpc

from auth_svc.api.peer import client_address
from tollgate_kit.caller import CLIENT_ADDRESS_METADATA


class _Context:
    """The three things client_address reads from a grpc.aio context (pure logic under test)."""

    def __init__(self, caller: str | None, metadata: dict[str, str]) -> None:
        self._auth: dict[str, list[bytes]] = {}
        if caller is not None:
            self._auth = {
                "transport_security_type": [b"ssl"],
                "x509_common_name": [caller.encode()],
            }
        self._metadata = tuple(metadata.items())

    def auth_context(self) -> dict[str, list[bytes]]:
        return self._auth

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def peer(self) -> str:
        return "ipv4:10.1.2.3:51234"


def _address(caller: str | None, metadata: dict[str, str]) -> str:
    context = cast(grpc.aio.ServicerContext[Any, Any], _Context(caller, metadata))
    return client_address(context)


def test_the_gateway_vouches_for_the_client_address() -> None:
    assert _address("gateway", {CLIENT_ADDRESS_METADATA: "203.0.113.7"}) == "203.0.113.7"
    assert _address("gateway", {"x-forwarded-for": "198.51.100.1, 203.0.113.9"}) == ("203.0.113.9")


def test_another_service_naming_a_client_address_is_not_believed() -> None:
    # A caller that rotates this header would get a fresh login budget per attempt.
    assert _address("billing", {CLIENT_ADDRESS_METADATA: "203.0.113.7"}) == "10.1.2.3"
    assert _address("billing", {"x-forwarded-for": "203.0.113.9"}) == "10.1.2.3"
    assert _address("", {CLIENT_ADDRESS_METADATA: "203.0.113.7"}) == "10.1.2.3"


def test_over_plaintext_the_metadata_is_taken_as_before() -> None:
    assert _address(None, {CLIENT_ADDRESS_METADATA: "203.0.113.7"}) == "203.0.113.7"
    assert _address(None, {}) == "10.1.2.3"
