"""A wallet's balance stays at or below 2^53 - 1 minor units.

That is the largest integer a JSON number (a JavaScript double) holds exactly, so every balance
the API returns survives any client, and no credit can overflow ``bigint``. A top-up or a refund
that would cross it is refused (outcome ``balance_limit``) and writes nothing: the wallet must
be spent down first. Charges only lower a balance.

Revision ID: 0002_balance_limit
Revises: 0001_ledger
Create Date: 2026-11-26
"""

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0002_balance_limit"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None

# 9007199254740991 below (2**53 - 1): the limit as this revision shipped it. Its current
# definition is sql/billing_max_balance.sql, which also re-creates the constraint.

# Checks every existing wallet under the table's lock; `wallets` holds one row per user, so
# the scan is short. A balance already past the limit fails the migration by the
# constraint's name, and nothing is changed.
CONSTRAINT = """
ALTER TABLE wallets
  ADD CONSTRAINT wallets_balance_limit CHECK (balance <= 9007199254740991)
"""

# As 0001, but the wallet update only applies while the new balance stays within the limit.
TOP_UP = """
CREATE OR REPLACE FUNCTION billing_top_up(
    p_user_id text, p_currency text, p_amount bigint, p_idempotency_key text,
    p_fingerprint bytea
) RETURNS billing_result LANGUAGE plpgsql AS $$
DECLARE
    r billing_result;
    v_balance bigint;
BEGIN
    r := billing_find_by_key(p_user_id, p_idempotency_key);
    IF r.id IS NOT NULL THEN
        RETURN r;
    END IF;

    INSERT INTO wallets AS w (user_id, currency, balance) VALUES (p_user_id, p_currency, p_amount)
    ON CONFLICT (user_id, currency) DO UPDATE SET balance = w.balance + EXCLUDED.balance
     WHERE w.balance <= 9007199254740991 - EXCLUDED.balance
    RETURNING w.balance INTO v_balance;
    IF NOT FOUND THEN
        -- A twin of this request may have committed (and filled the wallet) meanwhile.
        r := billing_find_by_key(p_user_id, p_idempotency_key);
        IF r.id IS NULL THEN
            r.outcome := 'balance_limit';
        END IF;
        RETURN r;
    END IF;

    INSERT INTO transactions AS t (user_id, currency, kind, amount, balance_after,
                                   idempotency_key, request_fingerprint)
    VALUES (p_user_id, p_currency, 'TOP_UP', p_amount, v_balance, p_idempotency_key,
            p_fingerprint)
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING 'created', t.id, t.kind, t.amount, t.description, t.refund_of, t.ts, t.currency,
              t.balance_after, t.request_fingerprint, NULL::bigint
    INTO r;
    IF NOT FOUND THEN
        UPDATE wallets w SET balance = w.balance - p_amount
         WHERE w.user_id = p_user_id AND w.currency = p_currency;
        RETURN billing_find_by_key(p_user_id, p_idempotency_key);
    END IF;
    RETURN r;
END
$$;
"""

# As 0001; a credit that would cross the limit gives back the charge's refunded_total it took.
REFUND = """
CREATE OR REPLACE FUNCTION billing_refund(
    p_user_id text, p_charge_id uuid, p_amount bigint, p_idempotency_key text,
    p_fingerprint bytea
) RETURNS billing_result LANGUAGE plpgsql AS $$
DECLARE
    r billing_result;
    v_currency text;
    v_balance bigint;
    v_kind text;
    v_charged bigint;
    v_refunded bigint;
BEGIN
    r := billing_find_by_key(p_user_id, p_idempotency_key);
    IF r.id IS NOT NULL THEN
        RETURN r;
    END IF;

    UPDATE transactions c SET refunded_total = c.refunded_total + p_amount
     WHERE c.id = p_charge_id AND c.user_id = p_user_id AND c.kind = 'CHARGE'
       AND c.refunded_total + p_amount <= -c.amount
    RETURNING c.currency INTO v_currency;
    IF NOT FOUND THEN
        r := billing_find_by_key(p_user_id, p_idempotency_key);
        IF r.id IS NOT NULL THEN
            RETURN r;
        END IF;
        SELECT c.kind, -c.amount, c.refunded_total INTO v_kind, v_charged, v_refunded
          FROM transactions c
         WHERE c.id = p_charge_id AND c.user_id = p_user_id;
        IF NOT FOUND THEN
            r.outcome := 'not_found';
        ELSIF v_kind <> 'CHARGE' THEN
            r.outcome := 'not_refundable';
        ELSE
            r.outcome := 'exceeds_charge';
            r.refundable := v_charged - v_refunded;
        END IF;
        RETURN r;
    END IF;

    UPDATE wallets w SET balance = w.balance + p_amount
     WHERE w.user_id = p_user_id AND w.currency = v_currency
       AND w.balance <= 9007199254740991 - p_amount
    RETURNING w.balance INTO v_balance;
    IF NOT FOUND THEN
        UPDATE transactions c SET refunded_total = c.refunded_total - p_amount
         WHERE c.id = p_charge_id;
        r := billing_find_by_key(p_user_id, p_idempotency_key);
        IF r.id IS NULL THEN
            r.outcome := 'balance_limit';
        END IF;
        RETURN r;
    END IF;

    INSERT INTO transactions AS t (user_id, currency, kind, amount, balance_after, refund_of,
                                   idempotency_key, request_fingerprint)
    VALUES (p_user_id, v_currency, 'REFUND', p_amount, v_balance, p_charge_id,
            p_idempotency_key, p_fingerprint)
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING 'created', t.id, t.kind, t.amount, t.description, t.refund_of, t.ts, t.currency,
              t.balance_after, t.request_fingerprint, NULL::bigint
    INTO r;
    IF NOT FOUND THEN
        UPDATE wallets w SET balance = w.balance - p_amount
         WHERE w.user_id = p_user_id AND w.currency = v_currency;
        UPDATE transactions c SET refunded_total = c.refunded_total - p_amount
         WHERE c.id = p_charge_id;
        RETURN billing_find_by_key(p_user_id, p_idempotency_key);
    END IF;
    RETURN r;
END
$$;
"""


def upgrade() -> None:
    for sql in (CONSTRAINT, TOP_UP, REFUND):
        op.execute(sql)


def downgrade() -> None:
    previous = _revision_0001()
    for sql in (previous.TOP_UP, previous.REFUND):
        op.execute(sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute("ALTER TABLE wallets DROP CONSTRAINT wallets_balance_limit")
    # Created by the repeatable migrations (sql/billing_max_balance.sql) once at head.
    op.execute("DROP FUNCTION IF EXISTS billing_max_balance()")


def _revision_0001() -> ModuleType:
    """0001's module, for the function bodies a downgrade restores (its file name is not an
    importable module name)."""
    path = Path(__file__).with_name("0001_ledger.py")
    spec = importlib.util.spec_from_file_location("billing_migration_0001", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
