"""billing-svc's domain metrics, registered in the service's own registry.

``billing_charge_total{result}`` counts every Charge RPC once, by result:

- ``success``             a new charge was debited
- ``replay``              the idempotency key named an identical earlier charge; nothing debited
- ``insufficient_funds``  declined: the balance is too low (FAILED_PRECONDITION)
- ``invalid``             declined: bad amount, description or key (INVALID_ARGUMENT)
- ``conflict``            declined: the key belongs to a different request (IDEMPOTENCY_KEY_REUSED)
- ``unauthenticated``     declined: no valid access token or the session has ended
- ``wallet_not_open``     declined: the wallet was never opened (sign-up unfinished)
- ``wallet_closed``       declined: the wallet is closed (the account was closed)
- ``error``               the service failed (database down, a bug, auth-svc unreachable …)

An *error*, for the alert ``billing_charge_error_rate > 5%``, is ``result="error"`` only: a
server-side failure the caller could not have avoided. Declines are correct answers and never
count as errors. The rate is::

    sum(rate(billing_charge_total{result="error"}[5m]))
      / sum(rate(billing_charge_total[5m]))

``billing_refund_total{result}`` and ``billing_top_up_total{result}`` follow the same scheme
(refunds add ``not_found``, ``not_refundable`` and ``exceeds_charge``; both add
``balance_limit``: the credit would take the wallet past its limit).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

CHARGE_RESULTS = (
    "success",
    "replay",
    "insufficient_funds",
    "invalid",
    "conflict",
    "unauthenticated",
    "wallet_not_open",
    "wallet_closed",
    "error",
)
REFUND_RESULTS = (
    "success",
    "replay",
    "not_found",
    "not_refundable",
    "exceeds_charge",
    "balance_limit",
    "invalid",
    "conflict",
    "unauthenticated",
    "wallet_not_open",
    "wallet_closed",
    "error",
)
TOP_UP_RESULTS = (
    "success",
    "replay",
    "balance_limit",
    "invalid",
    "conflict",
    "unauthenticated",
    "wallet_not_open",
    "wallet_closed",
    "error",
)


class Outcomes:
    """A counter with one child per result, bound once (no label lookup per call)."""

    def __init__(self, counter: Counter, results: tuple[str, ...]) -> None:
        self._children = {result: counter.labels(result=result) for result in results}

    def inc(self, result: str) -> None:
        self._children[result].inc()


class BillingMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.charge = Outcomes(
            Counter(
                "billing_charge_total",
                'Charge RPCs by result; result="error" are server-side failures.',
                ["result"],
                registry=registry,
            ),
            CHARGE_RESULTS,
        )
        self.refund = Outcomes(
            Counter(
                "billing_refund_total",
                'Refund RPCs by result; result="error" are server-side failures.',
                ["result"],
                registry=registry,
            ),
            REFUND_RESULTS,
        )
        self.top_up = Outcomes(
            Counter(
                "billing_top_up_total",
                'TopUp RPCs by result; result="error" are server-side failures.',
                ["result"],
                registry=registry,
            ),
            TOP_UP_RESULTS,
        )
