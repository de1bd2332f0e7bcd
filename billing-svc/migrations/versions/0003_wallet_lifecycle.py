"""Wallets are opened and closed explicitly (by auth-svc's sagas) instead of appearing on
first use: a ``state`` column (``open`` | ``closed``), and money functions that refuse a
wallet that was never opened (``wallet_not_open``) or is closed (``wallet_closed``).

Existing wallets stay open; a user with ledger rows but no wallet row (none can exist under the
foreign key, the statement only makes the promise explicit) gets an open one. Users of auth-svc
without a wallet get theirs from auth-svc's own migration, which starts a sign-up saga for them.

The money functions that know about the state are repeatable migrations
(``migrations/sql/*.sql``), applied after this revision once the upgrade reaches head.

Revision ID: 0003_wallet_lifecycle
Revises: 0002_balance_limit
Create Date: 2026-12-06
"""

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0003_wallet_lifecycle"
down_revision = "0002_balance_limit"
branch_labels = None
depends_on = None

STATE = """
ALTER TABLE wallets
  ADD COLUMN state text NOT NULL DEFAULT 'open'
      CONSTRAINT wallets_state CHECK (state IN ('open', 'closed')),
  ADD COLUMN closed_at timestamptz
"""

OPEN_FOR_LEDGER_ROWS = """
INSERT INTO wallets (user_id, currency, balance)
SELECT t.user_id, t.currency, 0 FROM transactions t GROUP BY t.user_id, t.currency
ON CONFLICT (user_id, currency) DO NOTHING
"""


def upgrade() -> None:
    op.execute(STATE)
    op.execute(OPEN_FOR_LEDGER_ROWS)


def downgrade() -> None:
    previous = _migration("0002_balance_limit.py")
    first = _migration("0001_ledger.py")
    op.execute(first.CHARGE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute(previous.TOP_UP)
    op.execute(previous.REFUND)
    op.execute("DROP FUNCTION IF EXISTS billing_wallet_refusal(text, text, text)")
    op.execute("ALTER TABLE wallets DROP COLUMN closed_at, DROP COLUMN state")


def _migration(file_name: str) -> ModuleType:
    """An older migration's module, for the function bodies a downgrade restores (its file
    name is not an importable module name)."""
    path = Path(__file__).with_name(file_name)
    spec = importlib.util.spec_from_file_location(f"billing_migration_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
