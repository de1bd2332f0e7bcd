"""Unit-test fixtures: in-memory stand-ins for the ledger and the authenticator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from billing_svc.api import BillingMetrics, BillingServicer
from billing_svc.domain.model import Kind, Transaction
from billing_svc.domain.pagination import Cursor
from billing_svc.usecases.ledger import Wallets
from billing_svc.usecases.ports import LedgerOutcome, LedgerResult
from tollgate_kit.tokens import TokenClaims


def ledger_result(
    outcome: str, *, fingerprint: bytes | None = b"fp", balance: int = 5
) -> LedgerResult:
    """A ledger answer; ``created``/``existing`` come with a transaction."""
    if outcome not in ("created", "existing"):
        return LedgerResult(LedgerOutcome(outcome), refundable=3)
    tx = Transaction(
        id=uuid4(),
        kind=Kind.CHARGE,
        amount=-5,
        currency="USD",
        description="",
        refund_of=None,
        created_at=datetime.now(UTC),
    )
    return LedgerResult(
        outcome=LedgerOutcome(outcome), transaction=tx, balance=balance, fingerprint=fingerprint
    )


class ScriptedLedger:
    """Answers every money-moving call with ``answer`` (or raises it)."""

    def __init__(self, answer: LedgerResult | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[object, ...]] = []

    def _reply(self, *args: object) -> LedgerResult:
        self.calls.append(args)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    async def charge(
        self,
        user_id: str,
        currency: str,
        amount: int,
        description: str,
        idempotency_key: str,
        fingerprint: bytes,
    ) -> LedgerResult:
        return self._reply(user_id, currency, amount, description, idempotency_key, fingerprint)

    async def top_up(
        self, user_id: str, currency: str, amount: int, idempotency_key: str, fingerprint: bytes
    ) -> LedgerResult:
        return self._reply(user_id, currency, amount, idempotency_key, fingerprint)

    async def refund(
        self, user_id: str, charge_id: UUID, amount: int, idempotency_key: str, fingerprint: bytes
    ) -> LedgerResult:
        return self._reply(user_id, charge_id, amount, idempotency_key, fingerprint)

    async def balance(self, user_id: str, currency: str) -> int:
        return 0

    async def transactions(
        self, user_id: str, limit: int, after: Cursor | None
    ) -> Sequence[Transaction]:
        return []


class FixedCaller:
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id

    async def authenticate(self, context: object) -> TokenClaims:
        return TokenClaims(
            subject=self.user_id,
            session_id="s",
            token_id="t",
            token_use="access",
            issued_at=0,
            expires_at=2**31,
        )


Answer = LedgerResult | Exception
ServicerParts = tuple[BillingServicer, CollectorRegistry, InMemorySpanExporter]


@pytest.fixture
def make_result() -> Callable[..., LedgerResult]:
    return ledger_result


@pytest.fixture
def make_wallets() -> Callable[[Answer], Wallets]:
    def make(answer: Answer) -> Wallets:
        return Wallets(ScriptedLedger(answer), currency="USD", max_amount=1_000)

    return make


@pytest.fixture
def make_servicer(make_wallets: Callable[[Answer], Wallets]) -> Callable[[Answer], ServicerParts]:
    """A servicer over a scripted ledger, with its own registry and span exporter."""

    def make(answer: Answer) -> ServicerParts:
        registry = CollectorRegistry()
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        servicer = BillingServicer(
            make_wallets(answer),
            FixedCaller("user-1"),
            BillingMetrics(registry),
            provider.get_tracer("test"),
        )
        return servicer, registry, exporter

    return make
