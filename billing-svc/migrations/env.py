"""alembic environment of billing-svc: plain-SQL migrations run by tollgate_kit, and the
repeatable ``sql/`` folder that holds the current definition of every database function."""

from pathlib import Path

from tollgate_kit.migrations import run_env

run_env(repeatable=Path(__file__).resolve().with_name("sql"))
