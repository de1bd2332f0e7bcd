"""outbox.trace_context: the W3C trace context of the transaction that wrote the message

The relay delivers each message inside that trace, so a registration's trace runs on from
the INSERT to email-svc's SMTP send, however late the delivery. Rows written before this
revision (or by a replica still running the previous release) get '{}' and are delivered
in a trace of their own.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The ALTER waits for an exclusive lock, and registrations queue behind it meanwhile: give
    # up after 10 s (the migration job fails and is retried) rather than stall sign-ups.
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute("ALTER TABLE outbox ADD COLUMN trace_context jsonb NOT NULL DEFAULT '{}'::jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE outbox DROP COLUMN trace_context")
