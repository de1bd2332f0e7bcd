"""Fetches the JWKS from auth-svc over gRPC (``GetJwks``) for a :class:`JwksCache`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc
from google.protobuf.json_format import MessageToDict

from tollgate.auth.v1 import auth_pb2, auth_pb2_grpc
from tollgate_kit.tokens import JwksFetcher


def grpc_jwks_fetcher(channel: grpc.aio.Channel, timeout: float = 5.0) -> JwksFetcher:
    stub = auth_pb2_grpc.AuthServiceStub(channel)

    async def fetch() -> Sequence[Mapping[str, str]]:
        response = await stub.GetJwks(auth_pb2.GetJwksRequest(), timeout=timeout)
        return [MessageToDict(key, preserving_proto_field_name=True) for key in response.keys]

    return fetch
