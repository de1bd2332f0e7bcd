"""PostgreSQL out of reach: money calls answer UNAVAILABLE (retry with the same key), and the
service recovers by itself once the database is back."""

import asyncio
import contextlib
import uuid
from urllib.parse import urlsplit, urlunsplit

import grpc
import pytest

from tollgate.billing.v1 import billing_pb2
from tollgate_devstack.testing import free_port
from tollgate_kit.errors import error_reason

pytestmark = pytest.mark.integration


class TcpProxy:
    """Forwards a local port to PostgreSQL until cut, as a network partition would."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def _through(dsn: str, port: int) -> str:
    parts = urlsplit(dsn)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


async def test_a_lost_database_is_unavailable_then_recovers(billing_factory, billing_database):
    target = urlsplit(billing_database)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    async with billing_factory(database_url=_through(billing_database, proxy.port)) as billing:
        md = await billing.funded(10)
        await proxy.cut()
        key = uuid.uuid4().hex
        charge = billing_pb2.ChargeRequest(amount=3, idempotency_key=key)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await billing.stub.Charge(charge, metadata=md)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_reason(err.value) == "LEDGER_UNAVAILABLE"
        assert "retry" in (err.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as read:
            await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
        assert read.value.code() == grpc.StatusCode.UNAVAILABLE
        assert await billing.metric("billing_charge_total", result="error") == 1

        await proxy.start()  # the database is back: the same key charges exactly once
        first = await billing.stub.Charge(charge, metadata=md)
        again = await billing.stub.Charge(charge, metadata=md)
        assert (first.balance, again.balance) == (7, 7)
        assert first.transaction.id == again.transaction.id
    await proxy.cut()
