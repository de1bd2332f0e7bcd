"""Rate limiting with GCRA (the generic cell rate algorithm), shared by every replica.

The state of a key is one number in Redis, its *theoretical arrival time* (TAT); a Lua
script reads the clock of the Redis server, decides and writes in one atomic step, so
every gateway process and replica sees the same limit. :func:`gcra` is the same rule in
Python (unit-tested, and the reference for the script).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from redis.exceptions import NoScriptError

from tollgate_kit.redis_client import RedisClient

MICROS = 1_000_000


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_minute`` requests per minute on average, up to ``burst`` at once."""

    per_minute: int
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute < 1 or self.burst < 1:
            raise ValueError("a rate needs per_minute >= 1 and burst >= 1")

    @property
    def interval_us(self) -> int:
        """Microseconds between two requests at the steady rate."""
        return max(1, round(60 * MICROS / self.per_minute))


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    # Seconds until the next request would be allowed (0 when allowed).
    retry_after: float
    # Seconds until the full burst is available again.
    reset_after: float

    def headers(self) -> list[tuple[bytes, bytes]]:
        """``RateLimit-*`` headers (IETF draft), plus ``Retry-After`` when refused."""
        headers = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(math.ceil(self.reset_after)).encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(max(1, math.ceil(self.retry_after))).encode()))
        return headers


# Passed on when Redis could not decide: the limit protects the backends, it does not gate
# access, so the request goes through (without RateLimit headers).
LIMIT_UNAVAILABLE = Decision(allowed=True, limit=0, remaining=0, retry_after=0.0, reset_after=0.0)


def gcra(tat_us: int | None, now_us: int, rate: Rate, cost: int = 1) -> tuple[Decision, int | None]:
    """Decide one request at ``now_us`` given the stored TAT; returns the decision and the
    TAT to store (None: leave the stored value as it is). A request of ``cost`` takes that
    many tokens at once, or none."""
    interval = rate.interval_us
    tat = now_us if tat_us is None or tat_us < now_us else tat_us
    new_tat = tat + interval * cost
    allow_at = new_tat - interval * rate.burst
    if now_us < allow_at:
        decision = Decision(
            allowed=False,
            limit=rate.burst,
            remaining=0,
            retry_after=(allow_at - now_us) / MICROS,
            reset_after=(tat - now_us) / MICROS,
        )
        return decision, None
    decision = Decision(
        allowed=True,
        limit=rate.burst,
        remaining=(now_us - allow_at) // interval,
        retry_after=0.0,
        reset_after=(new_tat - now_us) / MICROS,
    )
    return decision, new_tat


# KEYS[1]: the key; ARGV: interval (µs), burst, cost (tokens this request takes).
# Returns {allowed, remaining, retry µs, reset µs}.
# string.format keeps the TAT an exact integer (tostring would write 1.7e+15).
GCRA_SCRIPT = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
local ttl_ms = math.ceil((new_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
"""
GCRA_SHA = hashlib.sha1(GCRA_SCRIPT.encode(), usedforsecurity=False).hexdigest()


def gcra_lease(
    tat_us: int | None, now_us: int, rate: Rate, want: int
) -> tuple[int, Decision, int | None]:
    """Take up to ``want`` tokens at ``now_us`` (as many as the limit allows right now):
    the tokens granted, the decision for the request that asked, and the TAT to store."""
    interval = rate.interval_us
    tat = now_us if tat_us is None or tat_us < now_us else tat_us
    granted = min(want, (now_us - tat) // interval + rate.burst)
    if granted < 1:
        refused, _ = gcra(tat, now_us, rate)
        return 0, refused, None
    new_tat = tat + interval * granted
    decision = Decision(
        allowed=True,
        limit=rate.burst,
        remaining=(now_us - (new_tat - interval * rate.burst)) // interval,
        retry_after=0.0,
        reset_after=(new_tat - now_us) / MICROS,
    )
    return granted, decision, new_tat


# The same as gcra_lease, on Redis's clock. KEYS[1]: the key; ARGV: interval (µs), burst,
# want. Returns {granted, remaining, retry µs, reset µs}.
LEASE_SCRIPT = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local granted = math.min(want, math.floor((now - tat) / interval) + burst)
if granted < 1 then
  return {0, 0, tat + interval - interval * burst - now, tat - now}
end
local new_tat = tat + interval * granted
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {granted, math.floor((now - (new_tat - interval * burst)) / interval), 0, new_tat - now}
"""
LEASE_SHA = hashlib.sha1(LEASE_SCRIPT.encode(), usedforsecurity=False).hexdigest()


# A limit to pass: (kind, identity, rate).
Check = tuple[str, str, Rate]


@dataclass(frozen=True, slots=True)
class LoginRates:
    """The limits of login and registration: per client address over all emails (so
    rotating emails cannot spray passwords) and per address + email."""

    per_address: Rate
    per_email: Rate

    def checks(self, client_address: str, email: str) -> list[Check]:
        client = address_identity(client_address)
        return [
            ("login-addr", client, self.per_address),
            ("login", login_identity(client, email), self.per_email),
        ]


class RateLimiter:
    """GCRA over Redis; one round trip (EVALSHA) per decision."""

    def __init__(self, redis: RedisClient, key_prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{key_prefix}gateway:ratelimit:"

    async def hit(self, kind: str, identity: str, rate: Rate, *, cost: int = 1) -> Decision:
        """One decision; a request of ``cost`` takes that many tokens at once, or none."""
        reply = await self._script(GCRA_SHA, GCRA_SCRIPT, kind, identity, rate, cost)
        return _decision(reply, rate)

    async def take(self, kind: str, identity: str, rate: Rate, want: int) -> tuple[int, Decision]:
        """Up to ``want`` tokens at once (:func:`gcra_lease`): how many, and the decision."""
        granted, remaining, retry_us, reset_us = await self._script(
            LEASE_SHA, LEASE_SCRIPT, kind, identity, rate, want
        )
        return int(granted), _decision([min(granted, 1), remaining, retry_us, reset_us], rate)

    async def _script(
        self, sha: str, script: str, kind: str, identity: str, rate: Rate, count: int
    ) -> list[int]:
        key = f"{self._prefix}{kind}:{identity}"
        for attempt in range(2):
            try:
                reply: list[int] = await self._redis.evalsha(
                    sha, 1, key, rate.interval_us, rate.burst, count
                )
            except NoScriptError:
                if attempt:
                    raise
                # First use on this Redis (or after a SCRIPT FLUSH / failover).
                await self._redis.script_load(script)
                continue
            return reply
        raise NoScriptError("the rate limit script cannot be loaded")

    async def hit_all(self, checks: Sequence[Check]) -> Decision:
        """Each limit in turn: the first refusal, else the last decision."""
        if not checks:
            raise ValueError("no limit to check")
        for kind, identity, rate in checks:
            decision = await self.hit(kind, identity, rate)
            if not decision.allowed:
                break
        return decision


def _decision(reply: list[int], rate: Rate) -> Decision:
    allowed, remaining, retry_us, reset_us = reply
    return Decision(
        allowed=bool(allowed),
        limit=rate.burst,
        remaining=int(remaining),
        retry_after=int(retry_us) / MICROS,
        reset_after=int(reset_us) / MICROS,
    )


def address_identity(client_address: str) -> str:
    """Whom a per-address limit counts: an IPv4 address, or an IPv6 address's /64 (one
    subscriber's usual assignment: counting single IPv6 addresses would give one client
    2^64 budgets). Anything that is no IP address is counted as it is."""
    try:
        address = ipaddress.ip_address(client_address)
    except ValueError:
        return client_address
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def login_identity(client_address: str, email: str) -> str:
    """Key of the login/register limit: the client address and the email (hashed, so no
    address book of emails sits in Redis)."""
    # NFKC + casefold: fullwidth and other compatibility spellings of one address share it.
    folded = unicodedata.normalize("NFKC", email).strip().casefold()
    material = f"{client_address}\x00{folded}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


@dataclass(slots=True)
class _Lease:
    tokens: int
    expires: float
    remaining: int
    reset_after: float
    # The size of the next lease: doubled when one is spent in time, halved when one expires
    # with tokens left.
    size: int
    # The refusal, when Redis granted nothing.
    refused: Decision | None = None


class LeasedLimiter:
    """A Redis-backed limit spent locally from leases, so that a busy user costs a Redis
    round trip every few requests instead of every request.

    A lease is a number of tokens taken from the shared limit at once
    (:meth:`RateLimiter.take`); this process spends them on the identity's next requests
    for at most ``lease_seconds``. Every request it lets through consumed a token in Redis,
    so the sum over all replicas stays within the limit; tokens that expire unspent are
    lost, which only ever makes the limit stricter, and the next lease is halved. Leases
    grow from 1 up to ``max_lease`` and at most a quarter of the burst, so a small limit
    (a burst under 8) is decided request by request, exactly as before.
    """

    def __init__(
        self, limiter: RateLimiter, *, lease_seconds: float = 1.0, max_lease: int = 16
    ) -> None:
        self._limiter = limiter
        self._lease_seconds = lease_seconds
        self._max_lease = max_lease
        self._leases: dict[tuple[str, str], _Lease] = {}
        # One lease request in flight per identity: its other requests wait for it instead
        # of each taking (and wasting) a lease of their own.
        self._taking: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._pruned_at = time.monotonic()

    async def hit(self, kind: str, identity: str, rate: Rate) -> Decision:
        key = (kind, identity)
        while True:
            now = time.monotonic()
            lease = self._leases.get(key)
            if lease is not None and lease.tokens and now < lease.expires:
                lease.tokens -= 1
                return Decision(
                    True, rate.burst, lease.remaining + lease.tokens, 0.0, lease.reset_after
                )
            taking = self._taking.get(key)
            if taking is None:
                break
            await asyncio.shield(taking)
            lease = self._leases.get(key)
            if lease is not None and not lease.tokens and lease.refused:
                # The lease just asked for was refused: so is this request, same answer.
                return lease.refused
        done = asyncio.get_running_loop().create_future()
        self._taking[key] = done
        try:
            return await self._take(key, lease, now, rate)
        finally:
            del self._taking[key]
            done.set_result(None)

    async def _take(
        self, key: tuple[str, str], lease: _Lease | None, now: float, rate: Rate
    ) -> Decision:
        kind, identity = key
        if lease is None or now > lease.expires + self._lease_seconds:
            size = 1  # new, or back after a pause: start small
        elif not lease.tokens:
            size = min(lease.size * 2, self._max_lease)  # spent in time: take more
        else:
            size = max(lease.size // 2, 1)  # expired with tokens left: take fewer
        size = max(1, min(size, rate.burst // 4))
        granted, decision = await self._limiter.take(kind, identity, rate, size)
        lease = _Lease(
            tokens=max(granted - 1, 0),
            expires=now + self._lease_seconds,
            remaining=decision.remaining,
            reset_after=decision.reset_after,
            size=size,
            refused=None if decision.allowed else decision,
        )
        if not decision.allowed:
            lease.size = 1
        self._leases[key] = lease
        if now - self._pruned_at > self._lease_seconds * 10:
            self._prune(now)
        if not decision.allowed:
            return decision
        return Decision(
            True, rate.burst, decision.remaining + lease.tokens, 0.0, decision.reset_after
        )

    def _prune(self, now: float) -> None:
        """Forget identities whose last lease ended long ago (bounded memory)."""
        horizon = now - self._lease_seconds * 10
        for key in [k for k, lease in self._leases.items() if lease.expires < horizon]:
            del self._leases[key]
        self._pruned_at = now
