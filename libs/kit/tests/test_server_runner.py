"""The gRPC runner: health, graceful shutdown, RED metrics, error details."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tollgate_devstack.testing import free_port
from tollgate_kit.errors import StatusError, error_reason
from tollgate_kit.server import GrpcApp, serve

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import slow_service  # noqa: E402

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _wait_serving(channel: grpc.aio.Channel, deadline: float = 15.0) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    end = time.monotonic() + deadline
    while True:
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
            if reply.status == SERVING:
                return
        except grpc.aio.AioRpcError:
            if time.monotonic() > end:
                raise
        await asyncio.sleep(0.05)


@asynccontextmanager
async def serving(app: GrpcApp) -> AsyncIterator[grpc.aio.Channel]:
    """``app`` served by the runner for the block; a channel to it once it is SERVING."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.settings.grpc_port}") as channel:
            await _wait_serving(channel)
            yield channel
    finally:
        stop.set()
        await task


async def test_sigterm_turns_health_not_serving_and_lets_inflight_rpc_finish(
    tmp_path: Path,
) -> None:
    grpc_port, http_port = free_port(), free_port()
    log_path = tmp_path / "slow.log"
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "slow_service.py"),
            str(grpc_port),
            str(http_port),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            await _wait_serving(channel)
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=slow_service.SERVICE)
            )
            first = await watch.read()
            assert first.status == SERVING

            sleep = channel.unary_unary(f"/{slow_service.SERVICE}/Sleep")
            inflight = asyncio.ensure_future(sleep(b"1500", timeout=10))
            await asyncio.sleep(0.3)  # the RPC is running on the server
            proc.send_signal(signal.SIGTERM)

            update = await asyncio.wait_for(watch.read(), timeout=5)
            assert update.status == NOT_SERVING
            assert await inflight == b"1500"
        assert await asyncio.wait_for(proc.wait(), timeout=15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert '"msg": "service_stopped"' in log_path.read_text()


async def test_new_rpcs_are_refused_once_shutdown_starts() -> None:
    grpc_port, http_port = free_port(), free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(slow_service.build(grpc_port, http_port, grace=3), stop))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        await _wait_serving(channel)
        sleep = channel.unary_unary(f"/{slow_service.SERVICE}/Sleep")
        inflight = asyncio.ensure_future(sleep(b"800", timeout=10))
        await asyncio.sleep(0.2)
        stop.set()
        await asyncio.sleep(0.2)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as fresh:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await fresh.unary_unary(f"/{slow_service.SERVICE}/Sleep")(b"1", timeout=2)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert await inflight == b"800"
    await task


async def test_connections_are_recycled_after_their_max_age_without_failing_calls() -> None:
    app = slow_service.build(free_port(), free_port(), max_connection_age=0.5)
    async with serving(app) as channel:
        peer = channel.unary_unary(f"/{slow_service.SERVICE}/Peer")
        sleep = channel.unary_unary(f"/{slow_service.SERVICE}/Sleep")
        first = await peer(b"", timeout=5)
        # Outlives the connection's age: GOAWAY lets it finish on the old connection.
        assert await sleep(b"1200", timeout=10) == b"1200"
        later = await peer(b"", timeout=5)
    # The client reconnected (a new source port): it would re-resolve the service's name.
    assert first != later


async def test_metrics_show_red_series_after_a_call() -> None:
    http_port = free_port()
    async with serving(slow_service.build(free_port(), http_port)) as channel:
        await channel.unary_unary(f"/{slow_service.SERVICE}/Sleep")(b"5")
        async with httpx.AsyncClient() as client:
            body = (await client.get(f"http://127.0.0.1:{http_port}/metrics")).text
            ready = await client.get(f"http://127.0.0.1:{http_port}/readyz")
    assert ready.status_code == 200
    assert (
        'grpc_server_handled_total{grpc_code="OK",grpc_method="Sleep",grpc_service="test.Slow"} 1.0'
        in body
    )
    assert (
        'grpc_server_handling_seconds_count{grpc_method="Sleep",grpc_service="test.Slow"} 1.0'
        in body
    )
    # Buckets fine enough around the 1-3 ms where these calls sit.
    for bound in ("0.001", "0.0015", "0.002", "0.003"):
        assert (
            f'grpc_server_handling_seconds_bucket{{grpc_method="Sleep",grpc_service="test.Slow",le="{bound}"}}'
            in body
        )


async def test_status_error_reaches_the_client_with_its_reason_and_crashes_stay_private() -> None:
    async def fail(request: bytes, _: object) -> bytes:
        if request == b"decline":
            raise StatusError(
                grpc.StatusCode.FAILED_PRECONDITION,
                "insufficient funds",
                reason="INSUFFICIENT_FUNDS",
            )
        raise RuntimeError("SELECT secret FROM users")

    def register(server: grpc.aio.Server) -> None:
        handler = grpc.method_handlers_generic_handler(
            "test.Fail", {"Do": grpc.unary_unary_rpc_method_handler(fail)}
        )
        server.add_generic_rpc_handlers((handler,))

    base = slow_service.build(free_port(), free_port())
    app = GrpcApp(
        settings=base.settings,
        register=register,
        service_names=["test.Fail"],
        registry=base.registry,
    )
    async with serving(app) as channel:
        call = channel.unary_unary("/test.Fail/Do")
        with pytest.raises(grpc.aio.AioRpcError) as declined:
            await call(b"decline")
        with pytest.raises(grpc.aio.AioRpcError) as crashed:
            await call(b"crash")
    assert declined.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(declined.value) == "INSUFFICIENT_FUNDS"
    assert crashed.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (crashed.value.details() or "")


async def test_a_missed_deadline_is_counted_as_such_and_a_cancel_as_cancelled() -> None:
    http_port = free_port()
    async with serving(slow_service.build(free_port(), http_port)) as channel:
        sleep = channel.unary_unary(f"/{slow_service.SERVICE}/Sleep")
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await sleep(b"2000", timeout=0.2)
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        call = sleep(b"2000", timeout=10)
        await asyncio.sleep(0.2)
        call.cancel()
        series = (
            'grpc_server_handled_total{grpc_code="%s",grpc_method="Sleep",'
            'grpc_service="test.Slow"} 1.0'
        )
        async with httpx.AsyncClient() as client:
            for _ in range(100):  # the server learns of both a moment after the client
                body = (await client.get(f"http://127.0.0.1:{http_port}/metrics")).text
                if series % "CANCELLED" in body and series % "DEADLINE_EXCEEDED" in body:
                    break
                await asyncio.sleep(0.05)
    assert series % "DEADLINE_EXCEEDED" in body
    assert series % "CANCELLED" in body


@pytest.mark.parametrize("busy", ["grpc", "http"])
async def test_a_busy_port_fails_start_up_cleanly_and_runs_on_stop(busy: str) -> None:
    grpc_port, http_port = free_port(), free_port()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", grpc_port if busy == "grpc" else http_port))
    blocker.listen()
    stopped: list[bool] = []

    async def on_stop() -> None:
        stopped.append(True)

    app = dataclasses.replace(slow_service.build(grpc_port, http_port, grace=0.1), on_stop=on_stop)
    try:
        with pytest.raises(RuntimeError, match=r"cannot (bind gRPC port|serve HTTP on)"):
            await asyncio.wait_for(serve(app, asyncio.Event()), timeout=10)
    finally:
        blocker.close()
    # The pools and clients that on_stop closes were not left open.
    assert stopped == [True]
    # Nothing kept the other port: a second start on both ports works.
    stop = asyncio.Event()
    task = asyncio.create_task(serve(slow_service.build(grpc_port, http_port), stop))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        await _wait_serving(channel)
    stop.set()
    await task


async def test_a_background_task_that_ignores_cancellation_cannot_hold_the_shutdown() -> None:
    released = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await released.wait()  # a bug: the task swallows its cancellation

    grpc_port, http_port = free_port(), free_port()
    app = dataclasses.replace(
        slow_service.build(grpc_port, http_port, grace=0.2), background=[stubborn]
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        await _wait_serving(channel)
    stop.set()
    try:
        await asyncio.wait_for(task, timeout=10)  # returns after about max(grace, 1) s
    finally:
        released.set()
