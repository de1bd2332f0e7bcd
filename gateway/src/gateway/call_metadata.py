"""The metadata of a backend call, the same for REST and GraphQL: the caller's
``Authorization``, ``X-Forwarded-For`` with the peer appended, and the client address the
gateway resolved (``x-tollgate-client-address``, which clients cannot set)."""

from __future__ import annotations

from starlette.types import Scope

from gateway.asgi import peer_host
from gateway.headers import Metadata, check_metadata, forwarded_for
from tollgate_kit.caller import CLIENT_ADDRESS_METADATA


def call_metadata(
    scope: Scope,
    *,
    authorization: str | None,
    forwarded: str | None,
    client_address: str,
    metadata: Metadata | None = None,
) -> Metadata:
    """``metadata`` (the ``Grpc-Metadata-*`` headers on REST) with the gateway's own entries
    appended; ``forwarded`` is the request's ``X-Forwarded-For`` (every line).

    Raises :class:`gateway.headers.InvalidHeaderError` for a value gRPC cannot carry."""
    entries: Metadata = metadata if metadata is not None else []
    if authorization is not None:
        entries.append(("authorization", authorization))
    forwarded = forwarded_for(forwarded, peer_host(scope))
    if forwarded:
        entries.append(("x-forwarded-for", forwarded))
    if client_address:
        entries.append((CLIENT_ADDRESS_METADATA, client_address))
    check_metadata(entries)
    return entries
