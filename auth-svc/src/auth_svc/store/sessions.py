"""Sessions in Redis.

Every key here carries the ``{auth}`` hash tag (with the ended-sessions feed): on a Redis
Cluster they live in one slot, so the transactions below stay single-slot.

``session_key(prefix, sid)`` is a hash (user_id, created_at, last_refreshed_at, refresh_jti,
family) whose TTL is the refresh-token lifetime, renewed on every rotation; verifiers only
test that it exists. ``<prefix>{auth}:user_sessions:<user_id>`` is the set of a user's sids
(pruned lazily when a session has expired).

Ending a session announces it on the ended-sessions feed (:mod:`tollgate_kit.ended_sessions`),
from which every verifier learns it within a second, in the same transaction that deletes it:
a session is never deleted unannounced, nor announced and kept (then forgotten by the
verifiers while its refresh token still worked).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from redis.exceptions import WatchError

from auth_svc.domain.errors import StoreUnavailable
from auth_svc.domain.sessions import PresentedRefresh, Rotation, SessionState, decide_rotation
from tollgate_kit.ended_sessions import ensure_epoch, queue_ended
from tollgate_kit.outages import translate_outages
from tollgate_kit.redis_client import REDIS_UNREACHABLE, RedisClient, RedisPipeline
from tollgate_kit.tokens import SESSIONS_TAG, session_key

_FIELDS = ("user_id", "created_at", "last_refreshed_at", "refresh_jti", "family")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _decode(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


def _state(session_id: str, raw: Mapping[Any, Any]) -> SessionState | None:
    data = _decode(raw)
    if not all(name in data for name in _FIELDS):
        return None
    return SessionState(
        session_id=session_id,
        user_id=data["user_id"],
        created_at=float(data["created_at"]),
        last_refreshed_at=float(data["last_refreshed_at"]),
        refresh_jti=data["refresh_jti"],
        family=data["family"],
    )


@translate_outages(REDIS_UNREACHABLE, StoreUnavailable)
class SessionStore:
    def __init__(
        self,
        redis: RedisClient,
        prefix: str,
        ttl: timedelta,
        *,
        token_ttl: timedelta,
        token_leeway: timedelta = timedelta(seconds=5),
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = int(ttl.total_seconds())
        # How long an access token of a session ended now can still be presented: the feed
        # entry must outlive it, and followers keep the id that long.
        self._token_life = (token_ttl + token_leeway).total_seconds()

    def _queue_ended(self, pipe: RedisPipeline, session_id: str) -> None:
        queue_ended(
            pipe,
            self._prefix,
            session_id,
            valid_until=time.time() + self._token_life,
            retention_seconds=self._token_life + 60,
        )

    def _key(self, session_id: str) -> str:
        return session_key(self._prefix, session_id)

    def _user_key(self, user_id: str) -> str:
        return f"{self._prefix}{SESSIONS_TAG}:user_sessions:{user_id}"

    async def create(self, state: SessionState) -> None:
        # A session must belong to the current epoch of the ended-sessions feed, or the
        # verifiers would refuse its tokens as left over from lost data.
        await ensure_epoch(self._redis, self._prefix)
        key, user_key = self._key(state.session_id), self._user_key(state.user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "user_id": state.user_id,
                    "created_at": repr(state.created_at),
                    "last_refreshed_at": repr(state.last_refreshed_at),
                    "refresh_jti": state.refresh_jti,
                    "family": state.family,
                },
            )
            pipe.expire(key, self._ttl)
            pipe.sadd(user_key, state.session_id)
            pipe.expire(user_key, self._ttl)
            await pipe.execute()

    async def get(self, session_id: str) -> SessionState | None:
        return _state(session_id, await self._redis.hgetall(self._key(session_id)))

    async def rotate(self, presented: PresentedRefresh, new_jti: str, now: float) -> Rotation:
        """Apply :func:`decide_rotation` atomically: under WATCH, a concurrent rotation of the
        same session makes EXEC fail, and the retry then sees the token as already used."""
        key = self._key(presented.session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    state = _state(presented.session_id, await pipe.hgetall(key))
                    decision = decide_rotation(state, presented)
                    if decision is Rotation.ENDED:
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        return decision
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if decision is Rotation.ROTATE:
                        pipe.hset(
                            key, mapping={"refresh_jti": new_jti, "last_refreshed_at": repr(now)}
                        )
                        pipe.expire(key, self._ttl)
                        pipe.expire(self._user_key(presented.user_id), self._ttl)
                    elif state is not None:  # REUSED: announced and deleted together
                        self._queue_ended(pipe, presented.session_id)
                        pipe.delete(key)
                        pipe.srem(self._user_key(state.user_id), presented.session_id)
                    await pipe.execute()
                    return decision
                except WatchError:
                    continue

    async def delete(self, session_id: str, user_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            self._queue_ended(pipe, session_id)
            pipe.delete(self._key(session_id))
            pipe.srem(self._user_key(user_id), session_id)
            await pipe.execute()

    async def delete_all(self, user_id: str, *, keep: str | None = None) -> list[str]:
        """End every session of the user but ``keep``, each as :meth:`delete` ends one;
        their ids."""
        members = await self._redis.smembers(self._user_key(user_id))
        session_ids = sorted(s for s in (_text(m) for m in members) if s != keep)
        for session_id in session_ids:
            await self.delete(session_id, user_id)
        return session_ids

    async def list_for_user(self, user_id: str) -> list[SessionState]:
        user_key = self._user_key(user_id)
        members = await self._redis.smembers(user_key)
        session_ids = sorted(_text(m) for m in members)
        if not session_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.hgetall(self._key(session_id))
            raws = await pipe.execute()
        sessions, gone = [], []
        for session_id, raw in zip(session_ids, raws, strict=True):
            state = _state(session_id, raw)
            if state is None or state.user_id != user_id:
                gone.append(session_id)
            else:
                sessions.append(state)
        if gone:
            await self._redis.srem(user_key, *gone)
        sessions.sort(key=lambda s: s.created_at)
        return sessions
