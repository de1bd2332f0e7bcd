"""The shell every service shares: what build() opened closes in reverse order, on stop or
when a later step fails; readiness is every check's; ``main`` refuses unknown commands."""

from __future__ import annotations

import grpc
import pytest

from tollgate_kit.server import GrpcApp
from tollgate_kit.service import Assembly, Served, assemble, main
from tollgate_kit.settings import ServiceSettings


class Part:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self._log = log

    async def aclose(self) -> None:
        self._log.append(self.name)

    def close(self) -> None:  # a synchronous close works as well
        self._log.append(self.name)


async def test_a_failing_step_closes_what_came_before_it_last_first() -> None:
    closed: list[str] = []

    async def wire(parts: Assembly, settings: ServiceSettings) -> GrpcApp:
        first = parts.opened(Part("pool", closed), Part("pool", closed).aclose)
        parts.opened(first, Part("channel", closed).close)
        raise ConnectionError("redis is down")

    with pytest.raises(ConnectionError):
        await assemble(ServiceSettings(), wire)
    assert closed == ["channel", "pool"]


async def test_the_app_closes_every_part_once_and_is_ready_when_every_check_is() -> None:
    closed: list[str] = []
    answers = {"db": True, "redis": True}
    added: list[object] = []

    async def check_db() -> bool:
        return answers["db"]

    async def check_redis() -> bool:
        return answers["redis"]

    def add(servicer: object, server: grpc.aio.Server) -> None:
        added.append(servicer)

    async def wire(parts: Assembly, settings: ServiceSettings) -> GrpcApp:
        parts.opened("pool", Part("pool", closed).aclose)
        parts.opened("feed", Part("feed", closed).aclose)
        parts.ready_when(check_db)
        parts.ready_when(check_redis)
        return parts.app([Served("x.v1.A", add, "a"), Served("x.v1.B", add, "b")])

    app = await assemble(ServiceSettings(), wire)
    assert app.service_names == ["x.v1.A", "x.v1.B"]
    app.register(None)  # type: ignore[arg-type]
    assert added == ["a", "b"]
    assert await app.ready()
    answers["redis"] = False
    assert not await app.ready()
    answers["redis"], answers["db"] = True, False
    assert not await app.ready()
    assert app.on_stop is not None
    await app.on_stop()
    await app.on_stop()
    assert closed == ["feed", "pool"]


def test_main_refuses_an_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    async def build(settings: object) -> GrpcApp:
        raise AssertionError("not reached")

    assert main("some_svc", ServiceSettings, build, ["frobnicate"]) == 2  # type: ignore[arg-type]
    assert "usage: python -m some_svc [serve|migrate]" in capsys.readouterr().err
