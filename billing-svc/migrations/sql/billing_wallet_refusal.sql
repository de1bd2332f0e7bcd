-- Why a guarded money UPDATE found no row. Every money call runs against an *open* wallet:
-- the guarded UPDATE of the wallet row names state = 'open', so the check costs nothing on the
-- way that succeeds. Only when the UPDATE finds no row does this function look at why: no
-- wallet (never opened), a closed one, or the funds/limit reason the caller passes.
CREATE OR REPLACE FUNCTION billing_wallet_refusal(p_user_id text, p_currency text, p_otherwise text)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_state text;
BEGIN
    SELECT w.state INTO v_state FROM wallets w
     WHERE w.user_id = p_user_id AND w.currency = p_currency;
    IF NOT FOUND THEN
        RETURN 'wallet_not_open';
    ELSIF v_state = 'closed' THEN
        RETURN 'wallet_closed';
    END IF;
    RETURN p_otherwise;
END
$$;
