"""What a GraphQL client sees of an error: its own errors in full, our failures masked."""

from __future__ import annotations

from graphql import GraphQLError

from gateway.gql.endpoint import public_error


def test_resolver_errors_pass_unchanged() -> None:
    error = GraphQLError(
        "insufficient funds",
        path=["charge"],
        extensions={"code": "FAILED_PRECONDITION", "reason": "INSUFFICIENT_FUNDS"},
    )
    wrapped = GraphQLError(
        error.message, path=["charge"], original_error=error, extensions=error.extensions
    )
    assert public_error(wrapped) == {
        "message": "insufficient funds",
        "path": ["charge"],
        "extensions": {"code": "FAILED_PRECONDITION", "reason": "INSUFFICIENT_FUNDS"},
    }


def test_unexpected_failures_lose_their_text() -> None:
    failure = ConnectionError("Error 111 connecting to redis://10.0.0.7:6379 (password=hunter2)")
    error = GraphQLError(str(failure), path=["me"], original_error=failure)
    formatted = public_error(error)
    assert formatted == {
        "message": "internal error",
        "path": ["me"],
        "extensions": {"code": "INTERNAL", "reason": None},
    }
    assert "hunter2" not in str(formatted)
