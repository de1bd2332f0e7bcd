"""Starts the whole suite as real processes: infrastructure, migrations, services, mail catcher.

One launcher serves `make run` (default ports, embedded PostgreSQL/Redis when no
``DATABASE_URL``/``REDIS_URL`` is set) and the e2e tests (free ports, fresh databases and a
fresh Redis key prefix on the test servers, removed afterwards).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import grpc

from tollgate_devstack.dev_ca import TlsFiles, ensure_dev_ca
from tollgate_devstack.infra import EmbeddedPostgres, EmbeddedRedis
from tollgate_devstack.services import (
    ServiceSpec,
    available_services,
    replica_names,
    replica_port,
)
from tollgate_kit.db import drop_database, with_database
from tollgate_kit.mtls import ServiceTls, open_channel

LogSink = Callable[[str, str], None]


class StackError(RuntimeError):
    pass


class StartCancelled(StackError):
    pass


@dataclass
class StackConfig:
    # PostgreSQL server DSN (any database on it); None starts an embedded server.
    database_url: str | None
    # Redis URL; None starts an embedded server.
    redis_url: str | None
    data_dir: Path
    # Database name per service; default: the service's own name ("auth", …).
    database_names: dict[str, str] = field(default_factory=dict)
    redis_key_prefix: str = "tollgate:"
    # Ports: None means the service's default port; tests pass free ports.
    ports: dict[str, int] = field(default_factory=dict)
    host: str = "127.0.0.1"
    # Extra environment for every process (e.g. AUTH_BCRYPT_COST=4 in tests).
    env: dict[str, str] = field(default_factory=dict)
    services: Sequence[ServiceSpec] | None = None
    start_mailcatcher: bool = True
    ready_timeout: float = 60.0
    # Mutual TLS between the services, with a development CA made under ``tls_dir``
    # (default ``data_dir/tls``; a second stack joins the first by naming its folder).
    tls: bool = True
    tls_dir: Path | None = None
    # Processes per service (`TOLLGATE_REPLICAS`): replica 1 is named after its service
    # ("auth"), replica r "auth-r", each on its own ports; callers reach them all.
    replicas: int = 1


@dataclass
class _Proc:
    name: str
    args: list[str]
    env: dict[str, str]
    ready_url: str | None
    popen: subprocess.Popen[str] | None = None
    log_thread: threading.Thread | None = None


class Stack:
    def __init__(self, config: StackConfig, log_sink: LogSink | None = None) -> None:
        self.config = config
        self._sink = log_sink or _print_line
        self._pg: EmbeddedPostgres | None = None
        self._redis: EmbeddedRedis | None = None
        self._procs: dict[str, _Proc] = {}
        self._cancelled: Callable[[], bool] = _never
        self.database_url = ""
        self.redis_url = ""
        self.specs = list(config.services if config.services is not None else available_services())
        if config.start_mailcatcher and not _module_exists(
            "tollgate_devstack.mailcatcher.__main__"
        ):
            config.start_mailcatcher = False

    # -- addresses ---------------------------------------------------------------------------
    def port(self, key: str, default: int) -> int:
        return self.config.ports.get(key, default)

    def replicas(self, name: str) -> list[str]:
        """The process names of service ``name``'s replicas ("auth", "auth-2", …)."""
        self._spec(name)
        return replica_names(name, self.config.replicas)

    def grpc_addr(self, name: str) -> str:
        """The gRPC address of one process (``auth``, ``auth-2``)."""
        spec, replica = self._instance(name)
        if spec.default_grpc_port is None:
            raise StackError(f"{name} has no gRPC port")
        default = replica_port(spec.default_grpc_port, replica)
        return f"{self.config.host}:{self.port(name + '.grpc', default)}"

    def grpc_addrs(self, name: str) -> str:
        """Every replica of service ``name``, as its callers are given it (comma-separated)."""
        return ",".join(self.grpc_addr(replica) for replica in self.replicas(name))

    def http_url(self, name: str) -> str:
        if name == "mailcatcher":
            return f"http://{self.config.host}:{self.port('mailcatcher.http', 8025)}"
        spec, replica = self._instance(name)
        default = replica_port(spec.default_http_port, replica)
        return f"http://{self.config.host}:{self.port(name + '.http', default)}"

    def database_dsn(self, name: str) -> str:
        return with_database(self.database_url, self.config.database_names.get(name, name))

    @property
    def smtp_port(self) -> int:
        return self.port("mailcatcher.smtp", 1025)

    def _spec(self, name: str) -> ServiceSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise StackError(f"no service {name!r} in this stack")

    def _instance(self, name: str) -> tuple[ServiceSpec, int]:
        """The service of process ``name`` and its replica number (1 for "auth")."""
        service, _, number = name.partition("-")
        spec = self._spec(service)
        replica = int(number) if number.isdigit() else 1
        if number and (not number.isdigit() or not 2 <= replica <= self.config.replicas):
            raise StackError(f"no process {name!r} in this stack")
        return spec, replica

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Start everything and wait until it is ready; ``cancelled`` returning true (a
        Ctrl-C meanwhile) stops what started and raises :class:`StartCancelled`."""
        self._cancelled = cancelled
        # Before anything starts: another `make run` (or any server) on one of the ports
        # would answer this stack's readiness checks while its own processes fail to bind.
        self._check_ports_free()
        try:
            self._start_infra()
            self._build_processes()
            self._migrate()
            if "mailcatcher" in self._procs:
                self._launch("mailcatcher")
            for spec in self.specs:
                for replica in self.replicas(spec.name):
                    self._launch(replica)
            for name in self._procs:
                self.wait_ready(name)
        except BaseException:
            self.stop()
            raise
        finally:
            self._cancelled = _never

    def stop(self, drop_databases: bool = False) -> None:
        """SIGTERM every process (newest first), SIGKILL what outlives its grace, then stop
        the embedded servers. ``drop_databases`` removes the stack's databases (tests)."""
        for name in reversed(list(self._procs)):
            self.terminate(name)
        if drop_databases and self.database_url:
            for spec in self.specs:
                if spec.database:
                    asyncio.run(drop_database(self.database_dsn(spec.name)))
        if self._redis is not None:
            self._redis.stop()
            self._redis = None
        if self._pg is not None:
            self._pg.stop()
            self._pg = None

    def terminate(self, name: str, timeout: float = 15.0) -> int | None:
        """SIGTERM one process and wait for it (SIGKILL after ``timeout``)."""
        proc = self._procs[name]
        if proc.popen is None:
            return None
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)
            try:
                proc.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()
        _reap(proc)
        return proc.popen.returncode

    def kill(self, name: str) -> None:
        """SIGKILL a process (crash tests)."""
        proc = self._procs[name]
        if proc.popen is not None:
            if proc.popen.poll() is None:
                proc.popen.kill()
                proc.popen.wait()
            _reap(proc)

    def restart(self, name: str) -> None:
        self.terminate(name)
        self.start_process(name)

    def start_process(self, name: str) -> None:
        """Start one process stopped by ``terminate``/``kill`` again and wait until it is
        ready (failure tests: an SMTP server down for a while, a crashed service)."""
        popen = self._procs[name].popen
        if popen is not None and popen.poll() is None:
            raise StackError(f"{name} is already running")
        if popen is not None:
            _reap(self._procs[name])
        self._launch(name)
        self.wait_ready(name)

    def relaunch(self, name: str) -> None:
        """Start a process that exited again, without waiting for it (the supervisor)."""
        proc = self._procs[name]
        if proc.popen is not None:
            if proc.popen.poll() is None:
                raise StackError(f"{name} is already running")
            _reap(proc)
        self._launch(name)

    def process(self, name: str) -> subprocess.Popen[str]:
        popen = self._procs[name].popen
        if popen is None:
            raise StackError(f"{name} was never started")
        return popen

    def exited(self) -> list[tuple[str, int]]:
        """The processes that have ended on their own, with their exit codes."""
        return [
            (name, proc.popen.returncode)
            for name, proc in self._procs.items()
            if proc.popen is not None and proc.popen.poll() is not None
        ]

    def listen_ports(self) -> dict[str, int]:
        """Every port this stack's processes will listen on, by ``StackConfig.ports`` key."""
        ports = {}
        if self.config.start_mailcatcher:
            ports["mailcatcher.smtp"] = self.smtp_port
            ports["mailcatcher.http"] = self.port("mailcatcher.http", 8025)
        for spec in self.specs:
            for name in self.replicas(spec.name):
                ports[name + ".http"] = int(self.http_url(name).rsplit(":", 1)[1])
                if spec.default_grpc_port is not None:
                    ports[name + ".grpc"] = int(self.grpc_addr(name).rsplit(":", 1)[1])
        return ports

    def _check_ports_free(self) -> None:
        busy = []
        for key, port in self.listen_ports().items():
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((self.config.host, port))
                except OSError:
                    busy.append(f"{port} ({key})")
        if busy:
            raise StackError(
                f"port {', '.join(busy)} already in use on {self.config.host}: is another "
                "`make run` running? (`--free-ports` picks other ports)"
            )

    def wait_ready(self, name: str) -> None:
        proc = self._procs[name]
        if proc.ready_url is None:
            return
        deadline = time.monotonic() + self.config.ready_timeout
        while time.monotonic() < deadline:
            if self._cancelled():
                raise StartCancelled(f"stopped while waiting for {name}")
            if proc.popen is not None and proc.popen.poll() is not None:
                raise StackError(f"{name} exited with code {proc.popen.returncode} while starting")
            try:
                with urllib.request.urlopen(proc.ready_url, timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise StackError(f"{name} did not become ready within {self.config.ready_timeout}s")

    # -- internals ---------------------------------------------------------------------------
    def _start_infra(self) -> None:
        data = self.config.data_dir
        if self.config.database_url:
            self.database_url = self.config.database_url
        else:
            self._pg = EmbeddedPostgres(data / "postgres")
            self.database_url = self._pg.start()
        if self.config.redis_url:
            self.redis_url = self.config.redis_url
        else:
            self._redis = EmbeddedRedis(data / "redis")
            self.redis_url = self._redis.start()

    def _address_book(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for spec in self.specs:
            env.update(self._own_env(spec))
        for spec in self.specs:
            for other in self.specs:
                if other.default_grpc_port is not None:
                    env[f"{spec.env_prefix}{other.name.upper()}_ADDR"] = self.grpc_addrs(other.name)
        if self.config.start_mailcatcher:
            env["EMAIL_SMTP_HOST"] = self.config.host
            env["EMAIL_SMTP_PORT"] = str(self.smtp_port)
        if self.config.tls:
            for spec in self.specs:
                env.update(self.tls_files(spec.name).env(spec.env_prefix))
        env["AUTH_KEYS_DIR"] = str(self.config.data_dir / "keys")
        env["AUTH_PUBLIC_URL"] = self.http_url("gateway") if self._has("gateway") else ""
        return env

    def _own_env(self, spec: ServiceSpec) -> dict[str, str]:
        p = spec.env_prefix
        env = {
            f"{p}HTTP_HOST": self.config.host,
            f"{p}HTTP_PORT": str(self.port(spec.name + ".http", spec.default_http_port)),
            f"{p}REDIS_URL": self.redis_url,
            f"{p}REDIS_KEY_PREFIX": self.config.redis_key_prefix,
        }
        if spec.default_grpc_port is not None:
            env[f"{p}GRPC_HOST"] = self.config.host
            env[f"{p}GRPC_PORT"] = str(self.port(spec.name + ".grpc", spec.default_grpc_port))
        if spec.database:
            env[f"{p}DATABASE_URL"] = self.database_dsn(spec.name)
        return env

    @property
    def tls_dir(self) -> Path:
        return self.config.tls_dir or self.config.data_dir / "tls"

    def tls_files(self, name: str) -> TlsFiles:
        """The certificate of service ``name`` (issued by the stack's CA on first use)."""
        return ensure_dev_ca(self.tls_dir, [name])[name]

    def grpc_channel(self, name: str, caller: str) -> grpc.aio.Channel:
        """A channel to service ``name`` as the service ``caller`` (its certificate when the
        stack runs mutual TLS): tests call a service as its real clients do."""
        tls = None
        if self.config.tls:
            files = self.tls_files(caller)
            tls = ServiceTls.load(files.ca, files.cert, files.key)
        return open_channel(self.grpc_addr(name), tls, name)

    def _has(self, name: str) -> bool:
        return any(spec.name == name for spec in self.specs)

    def _build_processes(self) -> None:
        base = {**os.environ, **self._address_book(), **self.config.env}
        base.setdefault("PYTHONUNBUFFERED", "1")
        if self.config.start_mailcatcher:
            http_port = self.port("mailcatcher.http", 8025)
            self._procs["mailcatcher"] = _Proc(
                "mailcatcher",
                [
                    sys.executable,
                    "-m",
                    "tollgate_devstack.mailcatcher",
                    "--host",
                    self.config.host,
                    "--smtp-port",
                    str(self.smtp_port),
                    "--http-port",
                    str(http_port),
                ],
                base,
                f"http://{self.config.host}:{http_port}/api/v1/messages",
            )
        for spec in self.specs:
            for name in self.replicas(spec.name):
                self._procs[name] = _Proc(
                    name,
                    [sys.executable, "-m", spec.module],
                    {**base, **self._replica_env(spec, name)},
                    self.http_url(name) + "/readyz",
                )

    def _replica_env(self, spec: ServiceSpec, name: str) -> dict[str, str]:
        """What differs between a service's replicas: their ports."""
        p = spec.env_prefix
        env = {f"{p}HTTP_PORT": self.http_url(name).rsplit(":", 1)[1]}
        if spec.default_grpc_port is not None:
            env[f"{p}GRPC_PORT"] = self.grpc_addr(name).rsplit(":", 1)[1]
        return env

    def _migrate(self) -> None:
        runs = [
            (
                spec,
                subprocess.Popen(
                    [sys.executable, "-m", spec.module, "migrate"],
                    # Straight to PostgreSQL, as a deployment's migration job: not through a
                    # proxy or pooler the services may use (the migration lock is a session's).
                    env={
                        **self._procs[spec.name].env,
                        f"{spec.env_prefix}DATABASE_URL": self.database_dsn(spec.name),
                    },
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
            )
            for spec in self.specs
            if spec.database
        ]
        for spec, run in runs:
            output, _ = run.communicate(timeout=120)
            if run.returncode != 0:
                raise StackError(f"migrating {spec.name} failed:\n{output}")

    def _launch(self, name: str) -> None:
        proc = self._procs[name]
        proc.popen = subprocess.Popen(
            # The kernel SIGTERMs the process if this launcher dies, even by SIGKILL: a killed
            # `make run` must not leave services holding every port. The death signal is tied
            # to the launching thread, so launch from the thread that lives as long as the stack.
            [
                sys.executable,
                "-m",
                "tollgate_devstack._bound_to_parent",
                str(os.getpid()),
                *proc.args,
            ],
            env=proc.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            # Own process group: a terminal's Ctrl-C reaches the launcher only, which then
            # stops the services in order.
            start_new_session=True,
        )
        proc.log_thread = threading.Thread(
            target=_pump, args=(name, proc.popen.stdout, self._sink), daemon=True
        )
        proc.log_thread.start()


def _never() -> bool:
    return False


def _reap(proc: _Proc) -> None:
    """After the process ended: drain its log pipe and close it."""
    if proc.log_thread is not None:
        proc.log_thread.join(timeout=5)
        proc.log_thread = None
    if proc.popen is not None and proc.popen.stdout is not None:
        proc.popen.stdout.close()


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _pump(name: str, stream: IO[str] | None, sink: LogSink) -> None:
    if stream is None:
        return
    for line in stream:
        sink(name, line.rstrip("\n"))


def _print_line(_: str, line: str) -> None:
    print(line, flush=True)


def config_from_env(environ: Mapping[str, str], data_dir: Path) -> StackConfig:
    replicas = environ.get("TOLLGATE_REPLICAS", "").strip() or "1"
    if not replicas.isdigit() or not 1 <= int(replicas) <= 9:
        raise StackError(f"TOLLGATE_REPLICAS must be a number from 1 to 9, not {replicas!r}")
    return StackConfig(
        database_url=environ.get("DATABASE_URL") or None,
        redis_url=environ.get("REDIS_URL") or None,
        data_dir=data_dir,
        replicas=int(replicas),
    )
