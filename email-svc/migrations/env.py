"""alembic environment of email-svc (database ``email``); the body is shared by every service."""

from tollgate_kit.migrations import run_env

run_env()
