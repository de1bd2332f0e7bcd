-- The most a wallet may hold, in minor units: 2^53 - 1, the largest integer a JSON number (a
-- JavaScript double) keeps exactly, so every balance the API returns survives any client and no
-- credit can overflow bigint. The one definition of the limit: the credits (billing_top_up,
-- billing_refund) refuse to cross it with outcome 'balance_limit', and the wallets table's
-- constraint (wallets_balance_limit.sql) holds every row to it.
CREATE OR REPLACE FUNCTION billing_max_balance()
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 9007199254740991::bigint
$$;
