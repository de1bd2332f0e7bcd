-- Every wallet row stays at or below billing_max_balance(), whatever writes it. Re-applied
-- (and so re-checked against every wallet, under the table's lock) whenever the limit changes;
-- a wallet already past a lowered limit fails the migration by the constraint's name.
ALTER TABLE wallets
  DROP CONSTRAINT IF EXISTS wallets_balance_limit,
  ADD CONSTRAINT wallets_balance_limit CHECK (balance <= billing_max_balance())
