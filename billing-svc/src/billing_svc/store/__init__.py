"""PostgreSQL adapters of billing-svc."""

from billing_svc.store.ledger import Ledger
from billing_svc.store.pool import create_ledger_pool

__all__ = ["Ledger", "create_ledger_pool"]
