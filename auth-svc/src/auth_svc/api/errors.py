"""Domain errors as gRPC statuses: the code of each ``ErrorInfo.reason`` is the one
AuthService declares (``tollgate_kit.api_errors.auth``), which the gateway documents too."""

from __future__ import annotations

from auth_svc.domain import errors as e
from tollgate_kit.api_errors.auth import AUTH_ERRORS
from tollgate_kit.errors import StatusError


def to_status(err: e.AuthError) -> StatusError:
    return AUTH_ERRORS.status(err.reason, str(err))
