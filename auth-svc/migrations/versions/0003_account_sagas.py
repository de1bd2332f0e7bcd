"""Accounts get a state (PENDING → ACTIVE → CLOSING → CLOSED) driven by sagas.

- ``users.state``: existing users are ACTIVE, new ones start PENDING; a closed account keeps
  its row (its id is what billing's ledger rows name) without email or password hash.
- ``sagas``: the table of ``tollgate_kit.saga`` (its ``schema.sql``).
- Every existing user gets a sign-up saga without the sign-up credit, which opens their
  wallet in billing-svc (whose own migration opened wallets for users with ledger rows).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from alembic import op

from tollgate_kit.saga import schema_statements

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE users"
        " ADD COLUMN state text NOT NULL DEFAULT 'ACTIVE'"
        "   CONSTRAINT users_state CHECK (state IN ('PENDING', 'ACTIVE', 'CLOSING', 'CLOSED')),"
        " ADD COLUMN closed_at timestamptz,"
        " ALTER COLUMN email DROP NOT NULL,"
        " ALTER COLUMN password_hash DROP NOT NULL"
    )
    op.execute("ALTER TABLE users ALTER COLUMN state SET DEFAULT 'PENDING'")
    # Personal data goes only with the account.
    op.execute(
        "ALTER TABLE users ADD CONSTRAINT users_personal_data"
        " CHECK ((state = 'CLOSED') = (email IS NULL AND password_hash IS NULL))"
    )
    for statement in schema_statements():
        op.execute(statement)
    op.execute(
        "INSERT INTO sagas (id, kind, subject, payload)"
        " SELECT gen_random_uuid(), 'registration', id::text, '{\"sign_up_credit\": false}'"
        " FROM users"
    )


def downgrade() -> None:
    op.execute("DROP TABLE sagas")
    op.execute("DELETE FROM users WHERE state = 'CLOSED'")
    op.execute(
        "ALTER TABLE users DROP CONSTRAINT users_personal_data,"
        " DROP COLUMN closed_at, DROP COLUMN state,"
        " ALTER COLUMN email SET NOT NULL, ALTER COLUMN password_hash SET NOT NULL"
    )
