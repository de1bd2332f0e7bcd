"""What can go wrong in auth's business rules; the api layer maps each to a gRPC status."""

from __future__ import annotations


class AuthError(Exception):
    """Base of every domain error; ``str(err)`` is safe to show to a client."""

    reason = "AUTH_ERROR"


class InvalidEmail(AuthError):
    reason = "INVALID_EMAIL"


class InvalidPassword(AuthError):
    reason = "INVALID_PASSWORD"


class EmailTaken(AuthError):
    reason = "EMAIL_TAKEN"


class InvalidCredentials(AuthError):
    """Unknown email or wrong password: deliberately one error for both."""

    reason = "INVALID_CREDENTIALS"


class TooManyAttempts(AuthError):
    reason = "TOO_MANY_LOGIN_ATTEMPTS"


class InvalidToken(AuthError):
    reason = "TOKEN_INVALID"


class RefreshTokenReused(AuthError):
    reason = "REFRESH_TOKEN_REUSED"


class SessionEnded(AuthError):
    reason = "SESSION_REVOKED"


class SessionNotFound(AuthError):
    reason = "SESSION_NOT_FOUND"


class UserNotFound(AuthError):
    reason = "USER_NOT_FOUND"


class VerificationTokenUnknown(AuthError):
    reason = "VERIFICATION_TOKEN_INVALID"


class VerificationTokenUsed(AuthError):
    reason = "VERIFICATION_TOKEN_USED"


class VerificationTokenExpired(AuthError):
    reason = "VERIFICATION_TOKEN_EXPIRED"


class ResetTokenInvalid(AuthError):
    """A password-reset token that is unknown, used, voided by a newer one or expired: one
    answer for all, so a token tells nothing about the account."""

    reason = "RESET_TOKEN_INVALID"


class EmailChangeTokenInvalid(AuthError):
    """An email-change token that is unknown, used, voided by a newer one or expired."""

    reason = "EMAIL_CHANGE_TOKEN_INVALID"


class MfaCodeInvalid(AuthError):
    """A TOTP code that is wrong, outside its window or already used, or a recovery code
    that is unknown or used."""

    reason = "MFA_CODE_INVALID"


class MfaChallengeInvalid(AuthError):
    """The second login step's challenge is unknown, used or expired: log in again."""

    reason = "MFA_CHALLENGE_INVALID"


class MfaAlreadyEnabled(AuthError):
    reason = "MFA_ALREADY_ENABLED"


class MfaNotEnabled(AuthError):
    """No second factor to disable, or no enrollment to confirm."""

    reason = "MFA_NOT_ENABLED"


class AccountNotClosable(AuthError):
    """The account is already closing (or closed)."""

    reason = "ACCOUNT_CLOSING"


class AccountClosing(AuthError):
    """The password was right, but the account is being closed: no new session."""

    reason = "ACCOUNT_CLOSING"


class AccountClosureFailed(AuthError):
    """A closure step failed for good; the saga undid what it had done (ACTIVE again)."""

    reason = "ACCOUNT_CLOSURE_FAILED"


class WalletNotEmpty(AuthError):
    reason = "WALLET_NOT_EMPTY"


class ServiceUnavailable(AuthError):
    """A service the request needs (billing-svc) cannot be reached; retry later."""

    reason = "DEPENDENCY_UNAVAILABLE"


class StoreUnavailable(ServiceUnavailable):
    """PostgreSQL or Redis, where auth keeps its accounts and sessions, is out of reach
    (translated by the stores); retry later."""

    reason = "AUTH_UNAVAILABLE"

    def __init__(self, message: str = "authentication is unavailable, retry later") -> None:
        super().__init__(message)
