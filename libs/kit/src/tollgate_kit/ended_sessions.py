"""The feed of ended sessions: how every service learns, without a Redis round trip per
call, that a session's tokens must stop working.

auth-svc *announces* each session it ends (logout, refresh-token reuse, revocation, account
closure) on a Redis stream, before it deletes the session. Every verifier (the gateway's
workers, billing-svc, …) *follows* the stream: it reads the whole stream when it connects
(entries live as long as a token of their session can: one access-token lifetime), then
waits on ``XREAD BLOCK`` for new ones, and keeps the ended ids in memory until their tokens
have expired. A call is then checked with a dict lookup.

Fail closed: a follower that has not completed a read within ``max_staleness`` seconds
(Redis down, stalled, or the follower just started) cannot know what ended meanwhile, and
:meth:`EndedSessions.check` raises :class:`FeedUnavailable` (the caller answers
UNAVAILABLE, never "welcome").

Lost data: if Redis loses the stream (a restart without persistence, a flush), it has lost
every session too. An *epoch* key names the data set: whoever finds it missing creates it
with the time; a follower adopts the epoch it finds and refuses tokens issued before its
creation — exactly the sessions that Redis no longer has. auth-svc makes sure the epoch
exists before it creates a session, so no session outlives the epoch it was created under.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation

from tollgate_kit.logs import get_logger
from tollgate_kit.redis_client import (
    REDIS_UNREACHABLE,
    RedisClient,
    RedisPipeline,
    create_redis,
)
from tollgate_kit.tasks import stop_if_cancelled
from tollgate_kit.tokens import SESSIONS_TAG, TokenClaims

log = get_logger(__name__)

# Entries older than this are trimmed when a new one is added; at least the longest life of
# an access token plus the verifiers' leeway, so a (re)connecting follower reads every entry
# that can still matter.
DEFAULT_RETENTION_SECONDS = 3600.0
# Entries read at once; a full batch means more may be waiting.
_BATCH = 1000
# How often a follower re-reads the epoch while connected (a flush keeps the connection).
_EPOCH_EVERY = 1.0


def feed_key(prefix: str) -> str:
    return f"{prefix}{SESSIONS_TAG}:ended_sessions"


def epoch_key(prefix: str) -> str:
    return f"{prefix}{SESSIONS_TAG}:sessions_epoch"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entries(replies: Any) -> list[tuple[str, dict[bytes, bytes]]]:
    """The entries of an ``XREAD`` of one stream (RESP2's nested lists), ids as text."""
    if not replies:
        return []
    return [(_text(entry_id), fields) for entry_id, fields in replies[0][1]]


# Tokens issued this long before an epoch was created still pass: the creator's clock may be
# a little behind auth-svc's, and a login takes its time before its session is stored.
EPOCH_MARGIN_SECONDS = 5.0


async def ensure_epoch(redis: RedisClient, prefix: str) -> tuple[str, float]:
    """The current epoch (id, the time from which its sessions' tokens are issued), created
    now if Redis has none."""
    value = f"{uuid.uuid4().hex}:{time.time() - EPOCH_MARGIN_SECONDS:.6f}"
    await redis.set(epoch_key(prefix), value, nx=True)
    current = await redis.get(epoch_key(prefix))
    if current is None:  # deleted between the two commands: take ours
        current = value
    epoch, _, created = _text(current).partition(":")
    try:
        return epoch, float(created)
    except ValueError:
        return epoch, 0.0  # not ours to judge: no token is refused for its age


# Trimming compares the writer's clock with Redis's stream ids: this much slack on top of a
# token's life keeps a writer whose clock runs ahead from trimming entries that still count.
TRIM_SLACK_SECONDS = 600.0


def queue_ended(
    pipe: RedisPipeline,
    prefix: str,
    session_id: str,
    *,
    valid_until: float,
    retention_seconds: float = DEFAULT_RETENTION_SECONDS,
) -> None:
    """Queue, in ``pipe``, the announcement that ``session_id`` has ended (its tokens expire
    by ``valid_until``, unix seconds). Queue it in the transaction that deletes the session:
    then a session is never deleted unannounced nor announced and kept."""
    oldest_ms = max(0, int((time.time() - retention_seconds - TRIM_SLACK_SECONDS) * 1000))
    pipe.xadd(
        feed_key(prefix),
        {"sid": session_id, "until": f"{valid_until:.3f}"},
        minid=oldest_ms,
        approximate=True,
    )


async def announce_ended(
    redis: RedisClient,
    prefix: str,
    session_id: str,
    *,
    valid_until: float,
    retention_seconds: float = DEFAULT_RETENTION_SECONDS,
) -> None:
    """Tell every follower that ``session_id`` has ended, on its own (tests, tools)."""
    async with redis.pipeline(transaction=False) as pipe:
        queue_ended(
            pipe,
            prefix,
            session_id,
            valid_until=valid_until,
            retention_seconds=retention_seconds,
        )
        await pipe.execute()


class FeedUnavailable(Exception):
    """The follower is not in sync with the feed: nobody can be let in."""


class SessionEnded(Exception):
    """The token's session has ended."""


@dataclass
class _State:
    epoch: str = ""
    not_before: float = 0.0
    last_id: str = "0-0"


class EndedSessions:
    """Follows the feed; :meth:`check` tells whether a token's session still stands.

    ``redis`` must allow blocking reads: a socket timeout longer than ``block_seconds``.
    """

    def __init__(
        self,
        redis: RedisClient,
        prefix: str,
        *,
        max_staleness: float = 1.0,
        block_seconds: float = 0.2,
        purge_every: float = 10.0,
    ) -> None:
        if block_seconds >= max_staleness:
            raise ValueError("block_seconds must be shorter than max_staleness")
        self._redis = redis
        self._prefix = prefix
        self._key = feed_key(prefix)
        self._max_staleness = max_staleness
        self._block_ms = max(1, int(block_seconds * 1000))
        self._purge_every = purge_every
        self._ended: dict[str, float] = {}
        self._state = _State()
        # Monotonic time at which the last completed read was sent: everything announced
        # before it is known. -inf: never in sync.
        self._synced_at = float("-inf")
        self.synced = asyncio.Event()
        self._owned: RedisClient | None = None
        self._task: asyncio.Task[None] | None = None
        # Set (and replaced) at every completed read: what wait_in_sync waits on.
        self._tick = asyncio.Event()

    @classmethod
    def connect(
        cls, url: str, prefix: str, *, connect_timeout: float = 1.0, **options: float
    ) -> EndedSessions:
        """A follower with a Redis client of its own (blocking reads hold a connection);
        :meth:`aclose` closes it."""
        block = options.get("block_seconds", 0.2)
        redis = create_redis(
            url,
            max_connections=2,
            socket_timeout=block + connect_timeout,
            socket_connect_timeout=connect_timeout,
        )
        follower = cls(redis, prefix, **options)
        follower._owned = redis
        return follower

    async def start(self, wait_seconds: float = 2.0) -> None:
        """Follow the feed in a task of its own, and wait (at most ``wait_seconds``) for the
        first sync: a service that serves before it would answer every caller UNAVAILABLE.
        :meth:`aclose` stops it."""
        self._task = asyncio.create_task(self.run(), name="ended-sessions-feed")
        try:
            await asyncio.wait_for(self.synced.wait(), timeout=wait_seconds)
        except TimeoutError:
            log.warning("ended_sessions_feed_not_in_sync")  # readiness reports it until it is

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._owned is not None:
            await self._owned.aclose()
            self._owned = None

    async def ensure_open(self, claims: TokenClaims) -> None:
        """:meth:`check`, after waiting briefly (:meth:`wait_in_sync`) when the follower is
        a moment behind: what a caller authenticating a request uses."""
        if not self.in_sync():
            await self.wait_in_sync()
        self.check(claims)

    def check(self, claims: TokenClaims) -> None:
        """Raises :class:`SessionEnded` or :class:`FeedUnavailable`."""
        if time.monotonic() - self._synced_at > self._max_staleness:
            raise FeedUnavailable("the ended-sessions feed is not in sync")
        if claims.session_id in self._ended or claims.issued_at < self._state.not_before:
            raise SessionEnded(claims.session_id)

    def in_sync(self) -> bool:
        return time.monotonic() - self._synced_at <= self._max_staleness

    async def wait_in_sync(self, timeout: float = 0.5) -> bool:  # noqa: ASYNC109
        """Wait (at most ``timeout`` seconds) until the follower is in sync; False if it is
        not by then. A busy event loop may hold a read's answer that has already arrived:
        a caller waits for it briefly instead of being refused at once."""
        deadline = time.monotonic() + timeout
        while not self.in_sync():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._tick.wait(), remaining)
            except TimeoutError:
                return False
        return True

    def __len__(self) -> int:
        return len(self._ended)

    async def run(self) -> None:
        """Follow the feed until cancelled, reconnecting (with backoff) whenever Redis fails.

        Its reads are no request's work: they start no trace (five reads a second would
        otherwise each be a root span)."""
        with suppress_instrumentation():
            await self._run()

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            try:
                await self._rebuild()
                backoff = 0.05
                await self._follow()
            except Exception as error:
                # redis-py may report our own cancellation as a lost connection.
                stop_if_cancelled()
                self._out_of_sync()
                # Whatever failed (Redis away, refusing writes, a reply we cannot read), the
                # follower keeps trying: a task that ended would fail every call until restart.
                level = log.warning if isinstance(error, REDIS_UNREACHABLE) else log.error
                level("ended_sessions_feed_failed", error=type(error).__name__)
                await asyncio.sleep(backoff * (0.5 + random.random()))  # noqa: S311 - jitter
                backoff = min(backoff * 2, 1.0)

    def _out_of_sync(self) -> None:
        self._synced_at = float("-inf")
        self.synced.clear()

    async def _adopt_epoch(self) -> None:
        epoch, created = await ensure_epoch(self._redis, self._prefix)
        if epoch != self._state.epoch:
            if self._state.epoch:
                log.warning("ended_sessions_epoch_changed", not_before=created)
            # Sessions of an older data set are gone: so are their tokens. The epoch's time
            # is rounded down, as a token's iat is.
            self._state = _State(
                epoch=epoch, not_before=float(int(created)), last_id=self._state.last_id
            )

    async def _rebuild(self) -> None:
        """(Re)connect: adopt the epoch, then read every entry still in the stream."""
        sent = time.monotonic()
        await self._adopt_epoch()
        last_id = "0-0"
        while True:
            entries = _entries(await self._redis.xread({self._key: last_id}, count=_BATCH))
            if not entries:
                break
            self._remember(entries)
            last_id = entries[-1][0]
        self._state.last_id = last_id
        self._purge()
        self._synced(sent)

    async def _follow(self) -> None:
        purged_at = epoch_at = time.monotonic()
        while True:
            sent = time.monotonic()
            entries = _entries(
                await self._redis.xread(
                    {self._key: self._state.last_id}, block=self._block_ms, count=_BATCH
                )
            )
            # A cancellation that redis-py swallowed (it can, while connecting) ends the loop
            # here, after at most one blocking read.
            stop_if_cancelled()
            if entries:
                self._remember(entries)
                self._state.last_id = entries[-1][0]
            if len(entries) < _BATCH:
                self._synced(sent)  # caught up: a full batch may have more behind it
            if sent - epoch_at > _EPOCH_EVERY:
                # A flush without a restart keeps the connection: look at the epoch.
                await self._adopt_epoch()
                epoch_at = sent
            if sent - purged_at > self._purge_every:
                self._purge()
                purged_at = sent

    def _synced(self, sent: float) -> None:
        self._synced_at = sent
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()
        if not self.synced.is_set():
            self.synced.set()

    def _remember(self, entries: list[tuple[str, dict[bytes, bytes]]]) -> None:
        for _, fields in entries:
            session_id = fields.get(b"sid")
            until = fields.get(b"until")
            if session_id is None or until is None:
                continue
            try:
                self._ended[_text(session_id)] = float(until)
            except ValueError:
                continue

    def _purge(self) -> None:
        """Forget sessions whose tokens have all expired."""
        now = time.time()
        for session_id in [s for s, until in self._ended.items() if until < now]:
            del self._ended[session_id]
