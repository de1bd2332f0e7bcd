"""Backend channels spread calls over every address a backend's name resolves to (in
Kubernetes: a headless Service's pods), not only the first one."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest

from gateway.backends import Backend, BackendPool
from gateway.bootstrap import BILLING_SERVICE
from gateway.metrics import GatewayMetrics
from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate_devstack.testing import free_port

pytestmark = pytest.mark.integration

GET_WALLET = f"/{BILLING_SERVICE.full_name}/GetWallet"


class Replica(billing_pb2_grpc.BillingServiceServicer):
    """One billing-svc replica that answers with its own number as the balance."""

    def __init__(self, number: int, served: Counter[int]) -> None:
        self._number = number
        self._served = served

    async def GetWallet(self, request: Any, context: Any) -> billing_pb2.GetWalletResponse:
        self._served[self._number] += 1
        return billing_pb2.GetWalletResponse(balance=self._number, currency="EUR")


@asynccontextmanager
async def replicas(count: int, served: Counter[int]) -> AsyncIterator[list[int]]:
    servers, ports = [], []
    for number in range(count):
        server = grpc.aio.server()
        billing_pb2_grpc.add_BillingServiceServicer_to_server(Replica(number, served), server)
        port = free_port()
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        servers.append(server)
        ports.append(port)
    try:
        yield ports
    finally:
        await asyncio.gather(*(server.stop(None) for server in servers))


@pytest.mark.parametrize("scheme", ["ipv4:", ""])
async def test_calls_are_spread_over_every_resolved_address(scheme: str) -> None:
    served: Counter[int] = Counter()
    async with replicas(3, served) as ports:
        # One name, three addresses: what DNS answers for a headless Service; or the plain
        # list of replicas that `TOLLGATE_REPLICAS=3 make run` gives (GATEWAY_BILLING_ADDR).
        address = scheme + ",".join(f"127.0.0.1:{port}" for port in ports)
        pool = BackendPool([Backend(BILLING_SERVICE, address)], [], GatewayMetrics())
        try:
            for _ in range(30):
                result = await pool.call(
                    GET_WALLET,
                    billing_pb2.GetWalletRequest(),
                    billing_pb2.GetWalletResponse,
                    [],
                    timeout=5,
                )
                assert result.response.currency == "EUR"
        finally:
            await asyncio.gather(*(c.close(None) for c in pool.channels.values()))
    # pick_first, gRPC's default, would have sent all thirty to one replica.
    assert sorted(served) == [0, 1, 2]
    assert min(served.values()) >= 5
