"""Wallets, the transaction ledger, and the functions that move money.

Every money-moving request is one call of one function (one round trip, one database
transaction): the idempotency lookup, the guarded balance update and the ledger insert commit
together or not at all.

Revision ID: 0001_ledger
Revises:
Create Date: 2025-01-01
"""

from alembic import op

revision = "0001_ledger"
down_revision = None
branch_labels = None
depends_on = None

WALLETS = """
CREATE TABLE wallets (
    user_id    text        NOT NULL,
    currency   text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    balance    bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, currency),
    CONSTRAINT wallets_balance_non_negative CHECK (balance >= 0)
)
"""

# The ledger. Idempotency keys live on the row they produced, so they are kept as long as the
# ledger (for ever), well beyond the 24 h the API promises.
TRANSACTIONS = """
CREATE TABLE transactions (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             text        NOT NULL,
    currency            text        NOT NULL,
    kind                text        NOT NULL,
    amount              bigint      NOT NULL,
    balance_after       bigint      NOT NULL,
    description         text        NOT NULL DEFAULT '',
    idempotency_key     text        NOT NULL,
    request_fingerprint bytea       NOT NULL,
    refund_of           uuid        REFERENCES transactions (id),
    refunded_total      bigint      NOT NULL DEFAULT 0,
    ts                  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT transactions_wallet_fk FOREIGN KEY (user_id, currency)
        REFERENCES wallets (user_id, currency),
    CONSTRAINT transactions_idempotency_key UNIQUE (user_id, idempotency_key),
    CONSTRAINT transactions_kind CHECK (kind IN ('TOP_UP', 'CHARGE', 'REFUND')),
    CONSTRAINT transactions_amount_sign
        CHECK (CASE WHEN kind = 'CHARGE' THEN amount < 0 ELSE amount > 0 END),
    CONSTRAINT transactions_refund_of CHECK ((kind = 'REFUND') = (refund_of IS NOT NULL)),
    CONSTRAINT transactions_refunded_total CHECK (
        refunded_total >= 0
        AND refunded_total <= CASE WHEN kind = 'CHARGE' THEN -amount ELSE 0 END
    )
)
"""

# Cursor pagination: WHERE user_id = $1 AND (ts, id) < ($2, $3) ORDER BY ts DESC, id DESC.
PAGE_INDEX = """
CREATE INDEX transactions_user_page ON transactions (user_id, ts DESC, id DESC);
"""

# What every function returns: an outcome and, when there is one, the transaction it is about.
# outcome: created | existing (the key already has a transaction: the caller compares
# fingerprints) | insufficient_funds | not_found | not_refundable | exceeds_charge.
RESULT_TYPE = """
CREATE TYPE billing_result AS (
    outcome             text,
    id                  uuid,
    kind                text,
    amount              bigint,
    description         text,
    refund_of           uuid,
    ts                  timestamptz,
    currency            text,
    balance             bigint,
    request_fingerprint bytea,
    refundable          bigint
)
"""

FIND_BY_KEY = """
CREATE FUNCTION billing_find_by_key(p_user_id text, p_idempotency_key text)
RETURNS billing_result LANGUAGE plpgsql STABLE AS $$
DECLARE
    r billing_result;
BEGIN
    -- PL/pgSQL, not SQL: its plan is cached per connection instead of re-planned per call.
    SELECT 'existing', t.id, t.kind, t.amount, t.description, t.refund_of, t.ts, t.currency,
           t.balance_after, t.request_fingerprint, NULL::bigint
      INTO r
      FROM transactions t
     WHERE t.user_id = p_user_id AND t.idempotency_key = p_idempotency_key;
    RETURN r;
END
$$;
"""

# Concurrency: a transaction locks at most one charge row and then one wallet row, always in
# that order, so two calls cannot deadlock. A duplicate request that slipped past the first key
# lookup (its twin had not committed yet) waits on the wallet row, then finds the key taken by
# the ON CONFLICT and undoes its own balance change before answering with the original.
CHARGE = """
CREATE FUNCTION billing_charge(
    p_user_id text, p_currency text, p_amount bigint, p_description text,
    p_idempotency_key text, p_fingerprint bytea
) RETURNS billing_result LANGUAGE plpgsql AS $$
DECLARE
    r billing_result;
    v_balance bigint;
BEGIN
    r := billing_find_by_key(p_user_id, p_idempotency_key);
    IF r.id IS NOT NULL THEN
        RETURN r;
    END IF;

    UPDATE wallets w SET balance = w.balance - p_amount
     WHERE w.user_id = p_user_id AND w.currency = p_currency AND w.balance >= p_amount
    RETURNING w.balance INTO v_balance;
    IF NOT FOUND THEN
        -- A twin of this request may have committed while this one waited for the wallet.
        r := billing_find_by_key(p_user_id, p_idempotency_key);
        IF r.id IS NULL THEN
            r.outcome := 'insufficient_funds';
        END IF;
        RETURN r;
    END IF;

    INSERT INTO transactions AS t (user_id, currency, kind, amount, balance_after, description,
                                   idempotency_key, request_fingerprint)
    VALUES (p_user_id, p_currency, 'CHARGE', -p_amount, v_balance, p_description,
            p_idempotency_key, p_fingerprint)
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING 'created', t.id, t.kind, t.amount, t.description, t.refund_of, t.ts, t.currency,
              t.balance_after, t.request_fingerprint, NULL::bigint
    INTO r;
    IF NOT FOUND THEN
        UPDATE wallets w SET balance = w.balance + p_amount
         WHERE w.user_id = p_user_id AND w.currency = p_currency;
        RETURN billing_find_by_key(p_user_id, p_idempotency_key);
    END IF;
    RETURN r;
END
$$;
"""

TOP_UP = """
CREATE FUNCTION billing_top_up(
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
    RETURNING w.balance INTO v_balance;

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

# The refund's funds check is on the charge row, not the wallet (a credit cannot go negative):
# the guarded UPDATE lets refunded_total grow only while it stays <= the charged amount, and its
# row lock serialises concurrent refunds of the same charge.
REFUND = """
CREATE FUNCTION billing_refund(
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
    RETURNING w.balance INTO v_balance;

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
    statements = (WALLETS, TRANSACTIONS, PAGE_INDEX, RESULT_TYPE, FIND_BY_KEY)
    for sql in (*statements, CHARGE, TOP_UP, REFUND):
        op.execute(sql)


def downgrade() -> None:
    for sql in (
        "DROP FUNCTION billing_refund(text, uuid, bigint, text, bytea)",
        "DROP FUNCTION billing_top_up(text, text, bigint, text, bytea)",
        "DROP FUNCTION billing_charge(text, text, bigint, text, text, bytea)",
        "DROP FUNCTION billing_find_by_key(text, text)",
        "DROP TYPE billing_result",
        "DROP TABLE transactions",
        "DROP TABLE wallets",
    ):
        op.execute(sql)
