"""The client address of a call, for rate limiting."""

from __future__ import annotations

from typing import Any

import grpc

FORWARDED_FOR = "x-forwarded-for"


def client_address(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The address the gateway saw (the last ``x-forwarded-for`` hop, which the gateway
    appends itself, so a client cannot choose it), else the gRPC peer's host without its
    ephemeral port."""
    for key, value in context.invocation_metadata() or ():
        if key == FORWARDED_FOR and isinstance(value, str) and value.strip():
            return value.rsplit(",", 1)[-1].strip()
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        host = rest.rsplit(":", 1)[0]  # ipv6 peers look like ipv6:[::1]:5000
        return host.strip("[]")
    return peer
