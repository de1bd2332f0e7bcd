"""Sessions and refresh-token rotation with reuse detection (RFC 9700 §4.14.2)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SessionState:
    """A session as stored: who, when, and the one refresh token that may be used next."""

    session_id: str
    user_id: str
    created_at: float
    last_refreshed_at: float
    refresh_jti: str
    family: str  # jti of the session's first refresh token: the family's root, for audit logs


@dataclass(frozen=True, slots=True)
class PresentedRefresh:
    """The verified claims of a refresh token presented for rotation."""

    user_id: str
    session_id: str
    token_id: str


class Rotation(enum.Enum):
    ROTATE = "rotate"  # the current token: issue a new pair, retire this one
    REUSED = "reused"  # a retired token of this session: revoke the whole session
    ENDED = "ended"  # no such session (logged out, revoked, expired)


def decide_rotation(session: SessionState | None, presented: PresentedRefresh) -> Rotation:
    """What a refresh with ``presented`` does to ``session``.

    A session is one refresh-token family: every rotation gives the new refresh token a fresh
    ``jti`` and only the latest is current. Any other validly signed refresh token of the
    session was already rotated away, so presenting it means it was copied (or replayed),
    and the whole session is revoked. A token naming another user is treated the same way.
    Two concurrent refreshes with one token are one rotation and one reuse: a client cannot
    be told apart from an attacker racing it.
    """
    if session is None:
        return Rotation.ENDED
    if session.user_id != presented.user_id or session.session_id != presented.session_id:
        return Rotation.REUSED
    if session.refresh_jti != presented.token_id:
        return Rotation.REUSED
    return Rotation.ROTATE
