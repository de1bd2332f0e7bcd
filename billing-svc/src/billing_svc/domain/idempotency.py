"""Stripe-style idempotency: a key names one request of one user, for ever.

The key is stored on the transaction row it produced (unique per user), so it is kept as long
as the ledger is, which is longer than the 24 h the contract promises. A request is identified
by a fingerprint of everything that determines its effect; a replay with the same fingerprint
gets the original answer, a different fingerprint under the same key is refused.
"""

from __future__ import annotations

import enum
import hashlib
import json
from uuid import UUID

from billing_svc.domain.errors import IdempotencyKeyReused, InvalidIdempotencyKey
from billing_svc.domain.model import Kind

MAX_KEY_LENGTH = 255


def validate_key(key: str) -> str:
    if not key:
        raise InvalidIdempotencyKey("an idempotency key is required")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(f"idempotency key must be at most {MAX_KEY_LENGTH} characters")
    if not key.isprintable():
        raise InvalidIdempotencyKey("idempotency key must be printable text")
    if key != key.strip():
        # " k" and "k" would be two keys that look like one.
        raise InvalidIdempotencyKey("idempotency key must not start or end with whitespace")
    return key


def fingerprint(
    kind: Kind,
    *,
    amount: int,
    currency: str,
    description: str = "",
    refund_of: UUID | None = None,
) -> bytes:
    """SHA-256 of the canonical form of a request (its operation included, so a top-up key
    cannot be replayed as a charge)."""
    canonical = json.dumps(
        [kind.value, amount, currency, description, str(refund_of) if refund_of else ""],
        ensure_ascii=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).digest()


class Decision(enum.Enum):
    REPLAY = "replay"
    KEY_REUSED = "key_reused"


def decide(stored_fingerprint: bytes, request_fingerprint: bytes) -> Decision:
    """What to answer when the key already has a transaction."""
    if stored_fingerprint == request_fingerprint:
        return Decision.REPLAY
    return Decision.KEY_REUSED


def check_replay(stored_fingerprint: bytes, request_fingerprint: bytes) -> None:
    """Raise :class:`IdempotencyKeyReused` unless the stored request is this one."""
    if decide(stored_fingerprint, request_fingerprint) is Decision.KEY_REUSED:
        raise IdempotencyKeyReused("this idempotency key was already used for a different request")
