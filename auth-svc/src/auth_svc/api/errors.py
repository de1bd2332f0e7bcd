"""Domain errors as gRPC statuses (with ``ErrorInfo.reason`` = the error's reason)."""

from __future__ import annotations

import grpc

from auth_svc.domain import errors as e
from tollgate_kit.errors import StatusError, code_for

_CODES: dict[type[BaseException], grpc.StatusCode] = {
    e.InvalidEmail: grpc.StatusCode.INVALID_ARGUMENT,
    e.InvalidPassword: grpc.StatusCode.INVALID_ARGUMENT,
    e.EmailTaken: grpc.StatusCode.ALREADY_EXISTS,
    e.InvalidCredentials: grpc.StatusCode.UNAUTHENTICATED,
    e.TooManyAttempts: grpc.StatusCode.RESOURCE_EXHAUSTED,
    e.InvalidToken: grpc.StatusCode.UNAUTHENTICATED,
    e.RefreshTokenReused: grpc.StatusCode.UNAUTHENTICATED,
    e.SessionEnded: grpc.StatusCode.UNAUTHENTICATED,
    e.SessionNotFound: grpc.StatusCode.NOT_FOUND,
    e.UserNotFound: grpc.StatusCode.NOT_FOUND,
    # A token that never existed is a bad argument; a real one that was used or has
    # expired is a valid request the current state refuses.
    e.VerificationTokenUnknown: grpc.StatusCode.INVALID_ARGUMENT,
    e.VerificationTokenUsed: grpc.StatusCode.FAILED_PRECONDITION,
    e.VerificationTokenExpired: grpc.StatusCode.FAILED_PRECONDITION,
    e.AccountNotClosable: grpc.StatusCode.FAILED_PRECONDITION,
    e.AccountClosing: grpc.StatusCode.FAILED_PRECONDITION,
    e.WalletNotEmpty: grpc.StatusCode.FAILED_PRECONDITION,
    e.AccountClosureFailed: grpc.StatusCode.ABORTED,
    e.ServiceUnavailable: grpc.StatusCode.UNAVAILABLE,
}


def to_status(err: e.AuthError) -> StatusError:
    code = code_for(err, _CODES, grpc.StatusCode.INVALID_ARGUMENT)
    return StatusError(code, str(err), reason=err.reason)
