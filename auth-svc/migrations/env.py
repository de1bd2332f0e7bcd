"""alembic environment of auth-svc: plain-SQL migrations run by tollgate_kit."""

from tollgate_kit.migrations import run_env

run_env()
