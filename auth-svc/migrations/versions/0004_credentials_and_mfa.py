"""Password reset, email change and the TOTP second factor.

- ``password_reset_tokens`` and ``email_change_tokens``: single-use links, only the SHA-256 of
  each token kept (as ``email_verification_tokens``); an email change keeps the new address
  until its link is followed.
- ``users.mfa_secret`` (the confirmed TOTP secret; NULL = no second factor),
  ``mfa_pending_secret`` (an enrollment not confirmed yet) and ``mfa_last_step`` (the last
  TOTP time step accepted: a code is good once).
- ``mfa_recovery_codes``: the SHA-256 of each of an account's ten recovery codes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE password_reset_tokens (
            token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
            user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            used_at    timestamptz
        )
        """
    )
    op.execute("CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id)")
    op.execute(
        """
        CREATE TABLE email_change_tokens (
            token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
            user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            new_email  text NOT NULL CHECK (new_email <> ''),
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            used_at    timestamptz
        )
        """
    )
    op.execute("CREATE INDEX email_change_tokens_user_idx ON email_change_tokens (user_id)")
    op.execute(
        "ALTER TABLE users"
        " ADD COLUMN mfa_secret text,"
        " ADD COLUMN mfa_pending_secret text,"
        " ADD COLUMN mfa_last_step bigint,"
        " ADD COLUMN mfa_enabled_at timestamptz"
    )
    op.execute(
        """
        CREATE TABLE mfa_recovery_codes (
            user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            code_hash bytea NOT NULL CHECK (octet_length(code_hash) = 32),
            used_at   timestamptz,
            PRIMARY KEY (user_id, code_hash)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE mfa_recovery_codes")
    op.execute(
        "ALTER TABLE users DROP COLUMN mfa_secret, DROP COLUMN mfa_pending_secret,"
        " DROP COLUMN mfa_last_step, DROP COLUMN mfa_enabled_at"
    )
    op.execute("DROP TABLE email_change_tokens")
    op.execute("DROP TABLE password_reset_tokens")
