-- The refund's funds check is on the charge row, not the wallet (a credit cannot go negative):
-- the guarded UPDATE lets refunded_total grow only while it stays <= the charged amount, and its
-- row lock serialises concurrent refunds of the same charge. A credit the wallet refuses (closed,
-- or past the limit) gives back the refunded_total it took.
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
     WHERE w.user_id = p_user_id AND w.currency = v_currency AND w.state = 'open'
       AND w.balance <= billing_max_balance() - p_amount
    RETURNING w.balance INTO v_balance;
    IF NOT FOUND THEN
        UPDATE transactions c SET refunded_total = c.refunded_total - p_amount
         WHERE c.id = p_charge_id;
        r := billing_find_by_key(p_user_id, p_idempotency_key);
        IF r.id IS NULL THEN
            r.outcome := billing_wallet_refusal(p_user_id, v_currency, 'balance_limit');
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
