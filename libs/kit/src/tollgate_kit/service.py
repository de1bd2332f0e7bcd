"""The shell every gRPC service shares, so that a service writes only what is its own.

- :func:`main` is the whole of a service's ``__main__``: ``python -m <package>`` serves,
  ``python -m <package> migrate`` applies the migrations (versioned, then repeatable), with
  logging, telemetry and uvloop set up the same way everywhere.
- :class:`Assembly` is what a service's ``build()`` fills in: every client or pool it opens is
  registered with the call that closes it, every readiness condition is added to one check,
  and the servicers are listed with their registration functions. ``/readyz`` is true when
  every check is (in the order added); on stop, everything closes in reverse order of
  opening; and if ``build()`` fails half-way, what it had opened is closed before the error
  goes on (:func:`assemble`).

A new service is its settings class, its ``build()`` over an :class:`Assembly`, and a
three-line ``__main__``: see ``docs/conventions.md``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import grpc
from prometheus_client import CollectorRegistry

from tollgate_kit.db import DatabaseProbe, database_name, migrations_dir, upgrade
from tollgate_kit.logs import configure_logging, get_logger
from tollgate_kit.ops_http import ReadinessCheck
from tollgate_kit.server import GrpcApp, serve
from tollgate_kit.settings import ServiceSettings
from tollgate_kit.telemetry import configure_telemetry, instrument_clients

log = get_logger(__name__)

T = TypeVar("T")


class MainSettings(Protocol):
    """What :func:`main` reads of a service's settings."""

    @property
    def service_name(self) -> str: ...

    @property
    def log_level(self) -> str: ...

    @property
    def database_url(self) -> str: ...

    @property
    def migrations_dir(self) -> Path | None: ...


S = TypeVar("S", bound=MainSettings)
A = TypeVar("A", bound=ServiceSettings)


@dataclass(frozen=True, slots=True)
class Served:
    """One servicer and the generated function that adds it to a server
    (``add_<Name>Servicer_to_server``), under the service's full name (health, reflection)."""

    name: str
    add: Callable[[Any, grpc.aio.Server], None]
    servicer: object


class Assembly:
    """The parts one ``build()`` opened, its readiness checks and its servicers."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._checks: list[ReadinessCheck] = []
        self._closed = False

    def opened(self, part: T, close: Callable[[], Awaitable[None] | None]) -> T:
        """Keep ``part`` (returned as is) to be closed by ``close`` when the service stops."""

        async def closer() -> None:
            result = close()
            if result is not None:
                await result

        self._closers.append(closer)
        return part

    def ready_when(self, check: ReadinessCheck) -> None:
        """Add a readiness condition (e.g. "Redis answers")."""
        self._checks.append(check)

    def database_probe(self, dsn: str) -> DatabaseProbe:
        """A readiness condition of its own connection, not the pool's: a busy pool (calls
        queued on a locked row) is no outage."""
        probe = self.opened(DatabaseProbe(dsn), lambda: probe.close())
        self.ready_when(probe)
        return probe

    async def ready(self) -> bool:
        for check in self._checks:
            if not await check():
                return False
        return True

    async def aclose(self) -> None:
        """Close every part, last opened first; one failing close does not stop the others."""
        if self._closed:
            return
        self._closed = True
        for closer in reversed(self._closers):
            try:
                await closer()
            except Exception:
                log.exception("closing a part of the service failed")

    def app(
        self,
        served: Sequence[Served],
        *,
        background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    ) -> GrpcApp:
        """The app to serve: the servicers, the readiness checks, the background work and
        the closes, as one :class:`GrpcApp`."""

        def register(server: grpc.aio.Server) -> None:
            for entry in served:
                entry.add(entry.servicer, server)

        return GrpcApp(
            settings=self.settings,
            register=register,
            service_names=[entry.name for entry in served],
            registry=self.registry,
            ready=self.ready,
            background=background,
            on_stop=self.aclose,
        )


async def assemble(settings: A, wire: Callable[[Assembly, A], Awaitable[GrpcApp]]) -> GrpcApp:
    """``wire(parts, settings)`` over a fresh :class:`Assembly`; when a step of it fails, what
    the steps before it opened is closed before the error goes on."""
    parts = Assembly(settings)
    try:
        return await wire(parts, settings)
    except BaseException:
        await parts.aclose()
        raise


def main(
    package: str,
    settings_type: Callable[[], S],
    build: Callable[[S], Awaitable[GrpcApp]],
    argv: Sequence[str] | None = None,
) -> int:
    """The whole of ``python -m <package> [serve|migrate]``; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], ["serve"], ["migrate"]):
        print(f"usage: python -m {package} [serve|migrate]", file=sys.stderr)
        return 2
    settings = settings_type()
    configure_logging(settings.service_name, settings.log_level)
    if args == ["migrate"]:
        migrations = migrations_dir(package, settings.migrations_dir)
        asyncio.run(upgrade(settings.database_url, migrations))
        log.info("migrated", database=database_name(settings.database_url))
        return 0
    configure_telemetry(settings.service_name)
    instrument_clients()

    async def run() -> None:
        await serve(await build(settings))

    try:
        import uvloop
    except ImportError:
        asyncio.run(run())
    else:
        uvloop.run(run())
    return 0
