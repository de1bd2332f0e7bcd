"""The money rules' one current home: after migrating, every function in the database is the
one its file in ``migrations/sql/`` defines, and the balance limit is written once."""

from __future__ import annotations

import re

import asyncpg
import pytest

from tollgate_devstack.testing import temp_database
from tollgate_kit.db import migrations_dir, upgrade
from tollgate_kit.migrations import repeatable_files

pytestmark = pytest.mark.integration

_FUNCTION = re.compile(r"CREATE OR REPLACE FUNCTION (\w+)\(.*?\$\$(.*)\$\$;", re.S)


async def test_each_function_in_the_database_is_its_file() -> None:
    migrations = migrations_dir("billing_svc")
    files = repeatable_files(migrations / "sql")
    defined = {}
    for name, text in files.items():
        match = _FUNCTION.search(text)
        if match:
            assert f"{match.group(1)}.sql" == name, "one function a file, named after it"
            defined[match.group(1)] = match.group(2)
    assert {"billing_charge", "billing_top_up", "billing_refund", "billing_max_balance"} <= set(
        defined
    )
    async with temp_database("billing_sql") as dsn:
        await upgrade(dsn, migrations)
        conn = await asyncpg.connect(dsn)
        try:
            for function, body in defined.items():
                sources = await conn.fetch(
                    "SELECT prosrc FROM pg_proc WHERE proname = $1", function
                )
                assert [row["prosrc"] for row in sources] == [body], function
            check = await conn.fetchval(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conname = 'wallets_balance_limit'"
            )
            assert check == "CHECK ((balance <= billing_max_balance()))"
        finally:
            await conn.close()


def test_the_balance_limit_is_written_once() -> None:
    sql = migrations_dir("billing_svc") / "sql"
    holders = [p.name for p in sorted(sql.glob("*.sql")) if "9007199254740991" in p.read_text()]
    assert holders == ["billing_max_balance.sql"]
