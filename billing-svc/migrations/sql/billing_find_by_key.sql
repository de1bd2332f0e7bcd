-- The transaction a user's idempotency key already names, as outcome 'existing' (the caller
-- compares request fingerprints), or a row of NULLs when the key is new.
CREATE OR REPLACE FUNCTION billing_find_by_key(p_user_id text, p_idempotency_key text)
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
