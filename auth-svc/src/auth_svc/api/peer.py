"""The client address of a call, for rate limiting."""

from __future__ import annotations

from typing import Any

import grpc

from tollgate_kit.caller import CLIENT_ADDRESS_METADATA
from tollgate_kit.mtls import peer_service

FORWARDED_FOR = "x-forwarded-for"


# The only caller whose word on the client's address counts (its certificate's name).
ADDRESS_VOUCHER = "gateway"


def client_address(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The client address the gateway resolved through its trusted proxies, else the last
    ``x-forwarded-for`` hop (appended by whoever called us), else the gRPC peer's host
    without its ephemeral port.

    With mutual TLS the two headers count only from the gateway: any other caller could
    name a fresh address per attempt and sidestep the login limit. Over plaintext nobody
    is authenticated and the network is the boundary (see docs/architecture.md).
    """
    caller = peer_service(context)
    if caller is None or caller == ADDRESS_VOUCHER:
        metadata = {
            key: value
            for key, value in context.invocation_metadata() or ()
            if isinstance(value, str) and value.strip()
        }
        if CLIENT_ADDRESS_METADATA in metadata:
            return metadata[CLIENT_ADDRESS_METADATA].strip()
        if FORWARDED_FOR in metadata:
            return metadata[FORWARDED_FOR].rsplit(",", 1)[-1].strip()
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        host = rest.rsplit(":", 1)[0]  # ipv6 peers look like ipv6:[::1]:5000
        return host.strip("[]")
    return peer
