"""``tollgate.auth.v1.AuthService``: its reasons and which RPC can answer which."""

from __future__ import annotations

import grpc

from tollgate_kit.caller import CALLER_REASONS
from tollgate_kit.errors import DeclaredErrors, Reason

_C = grpc.StatusCode
_AUTHENTICATED = tuple(reason.name for reason in CALLER_REASONS)

AUTH_ERRORS = DeclaredErrors(
    "tollgate.auth.v1.AuthService",
    reasons=(
        *CALLER_REASONS,
        Reason(
            "INVALID_EMAIL",
            _C.INVALID_ARGUMENT,
            "The email address is missing or not a deliverable address.",
            "invalid email: The domain name example.invalid does not exist.",
        ),
        Reason(
            "INVALID_PASSWORD",
            _C.INVALID_ARGUMENT,
            "The password is too short or too long (8 characters at least, at most 72 bytes"
            " of UTF-8).",
            "password must be at least 8 characters long",
        ),
        Reason(
            "EMAIL_TAKEN",
            _C.ALREADY_EXISTS,
            "An account with this email address already exists.",
            "an account with this email already exists",
        ),
        Reason(
            "INVALID_CREDENTIALS",
            _C.UNAUTHENTICATED,
            "Unknown email or wrong password (deliberately not told apart).",
            "invalid email or password",
        ),
        Reason(
            "TOO_MANY_LOGIN_ATTEMPTS",
            _C.RESOURCE_EXHAUSTED,
            "Too many failed logins for this email address; wait and try again.",
            "too many login attempts; try again later",
        ),
        Reason(
            "ACCOUNT_CLOSING",
            _C.FAILED_PRECONDITION,
            "The account is being closed (or is closed): no new session, no second closure.",
            "the account is being closed",
        ),
        Reason(
            "REFRESH_TOKEN_REUSED",
            _C.UNAUTHENTICATED,
            "The refresh token was already used: the whole session is revoked, log in again.",
            "refresh token was already used; the session is revoked",
        ),
        Reason(
            "SESSION_NOT_FOUND",
            _C.NOT_FOUND,
            "No open session of the caller has this id.",
            "no such session",
        ),
        Reason(
            "USER_NOT_FOUND",
            _C.NOT_FOUND,
            "The token's user no longer exists (the account was erased).",
            "user not found",
        ),
        Reason(
            "VERIFICATION_TOKEN_INVALID",
            _C.INVALID_ARGUMENT,
            "The email verification token is missing or was never issued.",
            "unknown verification token",
        ),
        Reason(
            "VERIFICATION_TOKEN_USED",
            _C.FAILED_PRECONDITION,
            "The email verification token has already been used.",
            "verification token has already been used",
        ),
        Reason(
            "VERIFICATION_TOKEN_EXPIRED",
            _C.FAILED_PRECONDITION,
            "The email verification token has expired.",
            "verification token has expired",
        ),
        Reason(
            "WALLET_NOT_EMPTY",
            _C.FAILED_PRECONDITION,
            "The account's wallet still holds money: spend it before closing the account.",
            "the wallet is not empty",
        ),
        Reason(
            "ACCOUNT_CLOSURE_FAILED",
            _C.ABORTED,
            "A closure step failed for good and was undone: the account is ACTIVE again.",
            "the account could not be closed; it is open again",
        ),
        Reason(
            "DEPENDENCY_UNAVAILABLE",
            _C.UNAVAILABLE,
            "A service the request needs (billing) cannot be reached; retry later.",
            "billing is unavailable; retry later",
        ),
    ),
    rpcs={
        "Register": ("INVALID_EMAIL", "INVALID_PASSWORD", "EMAIL_TAKEN", "AUTH_UNAVAILABLE"),
        "Login": (
            "INVALID_EMAIL",
            "INVALID_CREDENTIALS",
            "TOO_MANY_LOGIN_ATTEMPTS",
            "ACCOUNT_CLOSING",
            "AUTH_UNAVAILABLE",
        ),
        "Refresh": ("TOKEN_INVALID", "TOKEN_EXPIRED", "REFRESH_TOKEN_REUSED", "AUTH_UNAVAILABLE"),
        "Logout": _AUTHENTICATED,
        "Me": (*_AUTHENTICATED, "USER_NOT_FOUND"),
        "VerifyEmail": (
            "VERIFICATION_TOKEN_INVALID",
            "VERIFICATION_TOKEN_USED",
            "VERIFICATION_TOKEN_EXPIRED",
            "AUTH_UNAVAILABLE",
        ),
        "GetJwks": (),
        "ListSessions": _AUTHENTICATED,
        "RevokeSession": (*_AUTHENTICATED, "SESSION_NOT_FOUND"),
        "CloseAccount": (
            *_AUTHENTICATED,
            "INVALID_CREDENTIALS",
            "USER_NOT_FOUND",
            "ACCOUNT_CLOSING",
            "WALLET_NOT_EMPTY",
            "ACCOUNT_CLOSURE_FAILED",
            "DEPENDENCY_UNAVAILABLE",
        ),
    },
)
