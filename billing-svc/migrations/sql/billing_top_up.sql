-- A credit applies only while the balance stays within billing_max_balance().
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

    UPDATE wallets w SET balance = w.balance + p_amount
     WHERE w.user_id = p_user_id AND w.currency = p_currency AND w.state = 'open'
       AND w.balance <= billing_max_balance() - p_amount
    RETURNING w.balance INTO v_balance;
    IF NOT FOUND THEN
        -- A twin of this request may have committed (and filled the wallet) meanwhile.
        r := billing_find_by_key(p_user_id, p_idempotency_key);
        IF r.id IS NULL THEN
            r.outcome := billing_wallet_refusal(p_user_id, p_currency, 'balance_limit');
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
