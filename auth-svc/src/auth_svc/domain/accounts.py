"""Where an account is in its life, and the sagas that move it."""

from __future__ import annotations

import enum
import uuid


class AccountState(enum.Enum):
    # Registered; the sign-up saga (open wallet, welcome mail) has not finished. Login works.
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    # The closure saga runs: no new session, no second closure.
    CLOSING = "CLOSING"
    # Wallet closed, sessions ended, personal data erased: the row stays, as an opaque id.
    CLOSED = "CLOSED"


REGISTRATION_SAGA = "registration"
CLOSURE_SAGA = "account_closure"

ACCOUNT_CLOSED_TEMPLATE = "account_closed"
CLOSURE_FAILED_TEMPLATE = "account_closure_failed"

# Namespace of the message ids of mails a saga sends (stable per saga and mail, so a step that
# runs again sends nothing new: email-svc deduplicates on the id).
_SAGA_MAIL = uuid.UUID("5b0d7c1e-8f3a-4c55-9d36-2f3f6f1f8a11")


def saga_mail_id(saga_id: str, mail: str) -> str:
    return str(uuid.uuid5(_SAGA_MAIL, f"{saga_id}/{mail}"))
