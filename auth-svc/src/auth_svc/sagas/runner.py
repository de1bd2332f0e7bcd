"""The kit's saga runner in auth's terms: the use cases that start a saga and wait for it
(sign-up, account closure) see its database out of reach as ``StoreUnavailable``."""

from __future__ import annotations

from auth_svc.domain.errors import StoreUnavailable
from tollgate_kit.db import DATABASE_UNREACHABLE
from tollgate_kit.outages import translate_outages
from tollgate_kit.saga import SagaRunner


@translate_outages(DATABASE_UNREACHABLE, StoreUnavailable)
class AuthSagaRunner(SagaRunner):
    """:class:`tollgate_kit.saga.SagaRunner`, its outages translated."""
