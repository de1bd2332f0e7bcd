"""email_sends: the idempotency record of SendEmail, one row per message id.

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
        CREATE TABLE email_sends (
            message_id      text PRIMARY KEY,
            recipient       text NOT NULL,
            template        text NOT NULL,
            fingerprint     text NOT NULL,
            state           text NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'sent')),
            attempts        integer NOT NULL DEFAULT 0,
            last_error      text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            last_attempt_at timestamptz,
            sent_at         timestamptz,
            CHECK ((state = 'sent') = (sent_at IS NOT NULL))
        )
        """
    )
    op.execute(
        "CREATE INDEX email_sends_pending_idx ON email_sends (created_at) WHERE state = 'pending'"
    )


def downgrade() -> None:
    op.execute("DROP TABLE email_sends")
