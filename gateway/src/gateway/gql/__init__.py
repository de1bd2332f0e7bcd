"""GraphQL over the same gRPC backends: ``POST /graphql`` (and ``GET`` for queries)."""

from gateway.gql.endpoint import GraphQLEndpoint
from gateway.gql.schema import build_graphql_schema

__all__ = ["GraphQLEndpoint", "build_graphql_schema"]
