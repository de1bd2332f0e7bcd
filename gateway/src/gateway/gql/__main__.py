"""``python -m gateway.gql``: print the GraphQL schema (SDL), as committed in
gateway/schema.graphql (a test fails when the two drift apart)."""

from __future__ import annotations

import sys

from graphql import print_schema

from gateway.gql.schema import build_graphql_schema


def main() -> int:
    sys.stdout.write(print_schema(build_graphql_schema()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
