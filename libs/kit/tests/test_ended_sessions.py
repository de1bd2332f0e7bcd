"""The ended-sessions feed against real Redis servers: followers learn an ended session
within a second, rebuild from the stream when they connect, fail closed while out of sync,
and refuse the tokens of sessions that a Redis restart lost."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tollgate_devstack.testing import RedisServerProcess, redis_server_url, temp_redis_prefix
from tollgate_kit import ended_sessions
from tollgate_kit.ended_sessions import (
    EndedSessions,
    FeedUnavailable,
    SessionEnded,
    announce_ended,
    ensure_epoch,
)
from tollgate_kit.redis_client import create_redis
from tollgate_kit.tokens import TokenClaims

pytestmark = pytest.mark.integration


def claims(session_id: str, issued_at: float | None = None) -> TokenClaims:
    now = int(time.time() if issued_at is None else issued_at)
    return TokenClaims(
        subject="user-1",
        session_id=session_id,
        token_id="jti",
        token_use="access",
        issued_at=now,
        expires_at=now + 900,
    )


async def until_true(condition: object, within: float = 3.0) -> float:
    """Seconds until ``condition()`` holds; fails after ``within`` seconds."""
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - started > within:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def ended(follower: EndedSessions, session_id: str, issued_at: float | None = None) -> bool:
    try:
        follower.check(claims(session_id, issued_at))
    except SessionEnded:
        return True
    return False


@contextlib.asynccontextmanager
async def following(url: str, prefix: str, **options: float) -> AsyncIterator[EndedSessions]:
    follower = EndedSessions.connect(url, prefix, connect_timeout=0.5, **options)
    task = asyncio.create_task(follower.run())
    try:
        yield follower
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await follower.aclose()


@pytest.mark.parametrize("redis_url", ["node", "cluster"], indirect=True)
async def test_an_announced_session_ends_at_every_follower_within_a_second(redis_url: str) -> None:
    url = redis_url
    async with temp_redis_prefix("feed", url) as prefix:
        writer = create_redis(url)
        async with following(url, prefix) as first, following(url, prefix) as second:
            await asyncio.wait_for(first.synced.wait(), 5)
            await asyncio.wait_for(second.synced.wait(), 5)
            first.check(claims("s-1"))  # open: no exception
            await announce_ended(writer, prefix, "s-1", valid_until=time.time() + 900)
            took = await until_true(lambda: ended(first, "s-1") and ended(second, "s-1"))
            assert took < 1.0
            second.check(claims("s-2"))  # other sessions stand
        await writer.aclose()


async def test_a_follower_that_connects_later_reads_what_ended_before() -> None:
    url = redis_server_url()
    async with temp_redis_prefix("feed") as prefix:
        writer = create_redis(url)
        await ensure_epoch(writer, prefix)
        for session in ("a", "b", "c"):
            await announce_ended(writer, prefix, session, valid_until=time.time() + 900)
        async with following(url, prefix) as late:
            with pytest.raises(FeedUnavailable):
                late.check(claims("a"))  # not in sync before its first read
            await asyncio.wait_for(late.synced.wait(), 5)
            assert all(ended(late, s) for s in ("a", "b", "c"))
            assert not ended(late, "d")
        await writer.aclose()


async def test_ids_are_forgotten_once_their_tokens_have_expired() -> None:
    url = redis_server_url()
    async with temp_redis_prefix("feed") as prefix:
        writer = create_redis(url)
        await ensure_epoch(writer, prefix)
        await announce_ended(writer, prefix, "old", valid_until=time.time() - 1)
        await announce_ended(writer, prefix, "new", valid_until=time.time() + 900)
        async with following(url, prefix, purge_every=0.1) as follower:
            await asyncio.wait_for(follower.synced.wait(), 5)
            assert len(follower) == 1
            assert ended(follower, "new")
        await writer.aclose()


async def test_a_stalled_redis_fails_closed_and_recovers(tmp_path: Path) -> None:
    with RedisServerProcess(tmp_path / "redis") as server:
        async with following(server.url, "t:") as follower:
            await asyncio.wait_for(follower.synced.wait(), 5)
            server.pause()
            try:
                took = await until_true(lambda: not follower.in_sync())
                assert took <= 1.2
                with pytest.raises(FeedUnavailable):
                    follower.check(claims("s-1"))
                # A caller may wait a moment for the feed, and is refused if it stays away.
                assert not await follower.wait_in_sync(0.3)
            finally:
                server.resume()
            assert await follower.wait_in_sync(5)
            follower.check(claims("s-1"))


async def test_after_a_redis_restart_tokens_of_lost_sessions_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ended_sessions, "EPOCH_MARGIN_SECONDS", 0.0)
    with RedisServerProcess(tmp_path / "redis") as server:
        writer = create_redis(server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
        async with following(server.url, "t:") as follower:
            await asyncio.wait_for(follower.synced.wait(), 5)
            await announce_ended(writer, "t:", "before", valid_until=time.time() + 900)
            await until_true(lambda: ended(follower, "before"))
            issued_before_restart = time.time()
            follower.check(claims("live", issued_before_restart))
            await asyncio.sleep(1.1)  # a token's iat has whole seconds
            server.__exit__()  # a restart without persistence: every key is gone
            server.__enter__()
            await until_true(lambda: not follower.in_sync())
            await until_true(follower.in_sync, within=5)
            # Its session no longer exists in Redis, so its token must not pass.
            assert ended(follower, "live", issued_before_restart)
            # What ended before the restart is still refused, and new logouts still arrive.
            assert ended(follower, "before")
            follower.check(claims("fresh", time.time() + 1))
            await writer.aclose()  # its pooled connection died with the server
            writer = create_redis(server.url)
            await announce_ended(writer, "t:", "fresh", valid_until=time.time() + 900)
            took = await until_true(lambda: ended(follower, "fresh", time.time() + 1))
            assert took < 1.0
        await writer.aclose()


async def test_a_flush_without_a_restart_is_noticed_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ended_sessions, "EPOCH_MARGIN_SECONDS", 0.0)
    with RedisServerProcess(tmp_path / "redis") as server:
        admin = create_redis(server.url)
        async with following(server.url, "t:", purge_every=0.2) as follower:
            await asyncio.wait_for(follower.synced.wait(), 5)
            issued = time.time()
            follower.check(claims("live", issued))
            await asyncio.sleep(1.1)  # a token's iat has whole seconds
            await admin.flushall()  # every session is gone, the connection is not
            await until_true(lambda: ended(follower, "live", issued))
            follower.check(claims("fresh", time.time() + 1))
        await admin.aclose()


async def test_a_full_batch_is_not_taken_for_being_in_sync() -> None:
    """A backlog larger than one read: the follower is in sync only once it has read it all."""
    url = redis_server_url()
    async with temp_redis_prefix("feed") as prefix:
        writer = create_redis(url)
        async with following(url, prefix) as follower:
            await asyncio.wait_for(follower.synced.wait(), 5)
            async with writer.pipeline(transaction=False) as pipe:
                for i in range(2500):
                    ended_sessions.queue_ended(
                        pipe, prefix, f"s-{i}", valid_until=time.time() + 900
                    )
                await pipe.execute()
            await until_true(lambda: len(follower) == 2500)
            assert ended(follower, "s-0")
            assert ended(follower, "s-2499")
        await writer.aclose()
