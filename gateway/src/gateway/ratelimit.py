"""Rate limiting with GCRA (the generic cell rate algorithm), shared by every replica.

The state of a key is one number in Redis, its *theoretical arrival time* (TAT); a Lua
script reads the clock of the Redis server, decides and writes in one atomic step, so
every gateway process and replica sees the same limit. :func:`gcra` is the same rule in
Python (unit-tested, and the reference for the script).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

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

    def __init__(self, redis: Redis, key_prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{key_prefix}gateway:ratelimit:"

    async def hit(self, kind: str, identity: str, rate: Rate, *, cost: int = 1) -> Decision:
        """One decision; a request of ``cost`` takes that many tokens at once, or none."""
        _, decision = await self._run(None, kind, identity, rate, cost)
        return decision

    async def hit_all(self, checks: Sequence[Check]) -> Decision:
        """Each limit in turn: the first refusal, else the last decision."""
        if not checks:
            raise ValueError("no limit to check")
        for kind, identity, rate in checks:
            decision = await self.hit(kind, identity, rate)
            if not decision.allowed:
                break
        return decision

    async def hit_with_session(
        self, session: str, kind: str, identity: str, rate: Rate
    ) -> tuple[bool, Decision]:
        """:meth:`hit`, and whether the Redis key ``session`` exists, in one round trip
        (a pipeline, not a two-key script, so it also works on Redis Cluster)."""
        return await self._run(session, kind, identity, rate)

    async def _run(
        self, session: str | None, kind: str, identity: str, rate: Rate, cost: int = 1
    ) -> tuple[bool, Decision]:
        key = f"{self._prefix}{kind}:{identity}"
        for attempt in range(2):
            pipe = self._redis.pipeline(transaction=False)
            if session is not None:
                pipe.exists(session)
            pipe.evalsha(GCRA_SHA, 1, key, rate.interval_us, rate.burst, cost)
            replies = await pipe.execute(raise_on_error=False)
            reply = replies[-1]
            if isinstance(reply, NoScriptError) and attempt == 0:
                # First use on this Redis (or after a SCRIPT FLUSH / failover).
                await self._redis.script_load(GCRA_SCRIPT)
                continue
            for item in replies:
                if isinstance(item, Exception):
                    raise item
            exists = bool(replies[0]) if session is not None else True
            return exists, _decision(reply, rate)
        raise NoScriptError("the rate limit script cannot be loaded")


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
