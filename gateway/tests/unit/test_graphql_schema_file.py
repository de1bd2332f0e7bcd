"""The committed GraphQL schema (gateway/schema.graphql) is the one the gateway serves."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema, print_schema

from gateway.gql.schema import build_graphql_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_the_committed_schema_matches_the_served_one() -> None:
    served = print_schema(build_graphql_schema()) + "\n"
    assert SCHEMA_FILE.read_text() == served, (
        "gateway/schema.graphql is stale: python -m gateway.gql > gateway/schema.graphql"
    )


def test_the_schema_file_has_the_account_operations() -> None:
    schema = build_schema(SCHEMA_FILE.read_text())
    assert "closeAccount" in schema.mutation_type.fields  # type: ignore[union-attr]
    assert "accountState" in schema.get_type("User").fields  # type: ignore[union-attr]
