"""Repeatable migrations (``sql/*.sql``): applied after an upgrade to head when any file
changed, forgotten by a downgrade, and re-applied over what the older revisions put back."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import asyncpg

from tollgate_devstack.testing import temp_database
from tollgate_kit.db import downgrade, upgrade

ENV = """
from pathlib import Path

from tollgate_kit.migrations import run_env

run_env(repeatable=Path(__file__).resolve().with_name("sql"))
"""

REVISION = """
from alembic import op

revision = "0001_counter"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE calls (n integer NOT NULL)")
    op.execute("CREATE FUNCTION answer() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$")


def downgrade() -> None:
    op.execute("DROP FUNCTION answer()")
    op.execute("DROP TABLE calls")
"""


def _function(answer: int) -> str:
    # Each application leaves a row in ``calls``, so the test sees how often the file ran.
    return textwrap.dedent(
        f"""\
        -- the current answer
        CREATE OR REPLACE FUNCTION answer() RETURNS integer LANGUAGE plpgsql AS $$
        BEGIN
            RETURN {answer};
        END
        $$;
        """
    )


def _scripts(root: Path) -> Path:
    migrations = root / "migrations"
    (migrations / "versions").mkdir(parents=True)
    (migrations / "sql").mkdir()
    (migrations / "env.py").write_text(ENV)
    shutil.copy(
        Path(__file__).resolve().parents[3] / "billing-svc" / "migrations" / "script.py.mako",
        migrations / "script.py.mako",
    )
    (migrations / "versions" / "0001_counter.py").write_text(REVISION)
    (migrations / "sql" / "answer.sql").write_text(_function(2))
    (migrations / "sql" / "zz_mark.sql").write_text("INSERT INTO calls (n) VALUES (1)")
    return migrations


async def test_files_apply_at_head_only_when_changed_and_again_after_a_downgrade(
    tmp_path: Path,
) -> None:
    migrations = _scripts(tmp_path)
    async with temp_database("kit_repeat") as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await upgrade(dsn, migrations)
            assert await conn.fetchval("SELECT answer()") == 2
            assert await conn.fetchval("SELECT count(*) FROM calls") == 1

            await upgrade(dsn, migrations)  # nothing changed: nothing runs
            assert await conn.fetchval("SELECT count(*) FROM calls") == 1

            (migrations / "sql" / "answer.sql").write_text(_function(3))
            await upgrade(dsn, migrations)  # one file changed: all of them run, in order
            assert await conn.fetchval("SELECT answer()") == 3
            assert await conn.fetchval("SELECT count(*) FROM calls") == 2
            names = await conn.fetch("SELECT name FROM repeatable_migrations ORDER BY name")
            assert [r["name"] for r in names] == ["answer.sql", "zz_mark.sql"]

            await downgrade(dsn, migrations, "base")
            assert await conn.fetchval("SELECT count(*) FROM repeatable_migrations") == 0
            await upgrade(dsn, migrations)  # the revision's own answer() is replaced again
            assert await conn.fetchval("SELECT answer()") == 3
            assert await conn.fetchval("SELECT count(*) FROM calls") == 1
        finally:
            await conn.close()
