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
    family: str


@dataclass(frozen=True, slots=True)
class PresentedRefresh:
    """The verified claims of a refresh token presented for rotation."""

    user_id: str
    session_id: str
    token_id: str
    family: str


class Rotation(enum.Enum):
    ROTATE = "rotate"  # the current token: issue a new pair, retire this one
    REUSED = "reused"  # a retired token of this session: revoke the whole session
    ENDED = "ended"  # no such session (logged out, revoked, expired)


def decide_rotation(session: SessionState | None, presented: PresentedRefresh) -> Rotation:
    """What a refresh with ``presented`` does to ``session``.

    Every refresh token of a session carries its family and a fresh ``jti``; only the latest
    ``jti`` is current. Any other validly signed token of the family is one that was already
    rotated away, i.e. stolen or replayed, so the session is revoked. A token that does not
    belong to the session at all (other user, other family) is treated as reuse too: it can
    only come from a forged or confused client.
    """
    if session is None:
        return Rotation.ENDED
    if (
        session.user_id != presented.user_id
        or session.session_id != presented.session_id
        or session.family != presented.family
    ):
        return Rotation.REUSED
    if session.refresh_jti != presented.token_id:
        return Rotation.REUSED
    return Rotation.ROTATE
