"""users, email verification tokens and the transactional outbox

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE users (
            id                uuid PRIMARY KEY,
            email             text NOT NULL CHECK (email <> ''),
            password_hash     text NOT NULL,
            email_verified_at timestamptz,
            created_at        timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # One account per address, compared case-insensitively.
    op.execute("CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))")
    op.execute(
        """
        CREATE TABLE email_verification_tokens (
            token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
            user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            used_at    timestamptz
        )
        """
    )
    op.execute(
        "CREATE INDEX email_verification_tokens_user_idx ON email_verification_tokens (user_id)"
    )
    op.execute(
        """
        CREATE TABLE outbox (
            id              uuid PRIMARY KEY,
            template        text NOT NULL,
            recipient       text NOT NULL,
            params          jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at      timestamptz NOT NULL DEFAULT now(),
            attempts        integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            delivered_at    timestamptz,
            failed_at       timestamptz,
            last_error      text
        )
        """
    )
    # The relay's claim scans only pending rows, in due order.
    op.execute(
        "CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) "
        "WHERE delivered_at IS NULL AND failed_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP TABLE outbox")
    op.execute("DROP TABLE email_verification_tokens")
    op.execute("DROP TABLE users")
