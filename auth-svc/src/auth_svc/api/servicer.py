"""``tollgate.auth.v1.AuthService``: translates requests to use cases and answers back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from auth_svc.api.errors import to_status
from auth_svc.api.peer import client_address
from auth_svc.domain.accounts import AccountState
from auth_svc.domain.errors import AuthError
from auth_svc.signing.issuer import TokenPair
from auth_svc.signing.keyset import KeySet
from auth_svc.usecases.accounts import AccountService
from auth_svc.usecases.closure import AccountClosure
from auth_svc.usecases.credentials import CredentialService
from auth_svc.usecases.mfa import MfaService
from auth_svc.usecases.sessions import MfaRequired, SessionService
from tollgate.auth.v1 import auth_pb2, auth_pb2_grpc
from tollgate_kit.caller import CallerAuthenticator
from tollgate_kit.logs import get_logger

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")

TOKEN_TYPE = "Bearer"
# Read by the gateway: answer this HTTP status instead of 200 (grpc-gateway's convention).
HTTP_CODE_METADATA = "x-http-code"

log = get_logger(__name__)


async def _domain(call: Awaitable[T]) -> T:
    """Run a use case: its domain errors become their statuses (PostgreSQL or Redis out of
    reach is one of them, ``StoreUnavailable``, translated by the stores: UNAVAILABLE, as a
    retry may succeed)."""
    try:
        return await call
    except AuthError as err:
        raise to_status(err) from err


def _timestamp(when: datetime | float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when if isinstance(when, datetime) else datetime.fromtimestamp(when, UTC))
    return stamp


def _state(state: AccountState) -> auth_pb2.AccountState.ValueType:
    return auth_pb2.AccountState.Value(state.value)


def _pair(pair: TokenPair, response: Callable[..., T]) -> T:
    return response(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        token_type=TOKEN_TYPE,
        expires_in=pair.expires_in,
    )


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(
        self,
        *,
        accounts: AccountService,
        sessions: SessionService,
        keys: KeySet,
        caller: CallerAuthenticator,
        closure: AccountClosure,
        credentials: CredentialService,
        mfa: MfaService,
    ) -> None:
        self._closure = closure
        self._credentials = credentials
        self._mfa = mfa
        self._accounts = accounts
        self._sessions = sessions
        self._keys = keys
        self._caller = caller

    async def Register(
        self, request: auth_pb2.RegisterRequest, context: Context
    ) -> auth_pb2.RegisterResponse:
        user = await _domain(self._accounts.register(request.email, request.password))
        return auth_pb2.RegisterResponse(
            user_id=user.id, email=user.email, account_state=_state(user.state)
        )

    async def Login(
        self, request: auth_pb2.LoginRequest, context: Context
    ) -> auth_pb2.LoginResponse:
        outcome = await _domain(
            self._sessions.login(request.email, request.password, client_address(context))
        )
        if isinstance(outcome, MfaRequired):
            return auth_pb2.LoginResponse(mfa_required=True, mfa_token=outcome.token)
        return _pair(outcome, auth_pb2.LoginResponse)

    async def Refresh(
        self, request: auth_pb2.RefreshRequest, context: Context
    ) -> auth_pb2.RefreshResponse:
        pair = await _domain(self._sessions.refresh(request.refresh_token))
        return _pair(pair, auth_pb2.RefreshResponse)

    async def Logout(
        self, request: auth_pb2.LogoutRequest, context: Context
    ) -> auth_pb2.LogoutResponse:
        caller = await self._caller.authenticate(context)
        await _domain(self._sessions.logout(caller))
        return auth_pb2.LogoutResponse()

    async def Me(self, request: auth_pb2.MeRequest, context: Context) -> auth_pb2.MeResponse:
        caller = await self._caller.authenticate(context)
        user = await _domain(self._accounts.me(caller.subject))
        return auth_pb2.MeResponse(
            user_id=user.id,
            email=user.email,
            email_verified=user.email_verified_at is not None,
            created_at=_timestamp(user.created_at),
            account_state=_state(user.state),
            mfa_enabled=user.mfa_enabled,
        )

    async def VerifyEmail(
        self, request: auth_pb2.VerifyEmailRequest, context: Context
    ) -> auth_pb2.VerifyEmailResponse:
        await _domain(self._accounts.verify_email(request.token))
        return auth_pb2.VerifyEmailResponse()

    async def GetJwks(
        self, request: auth_pb2.GetJwksRequest, context: Context
    ) -> auth_pb2.GetJwksResponse:
        return auth_pb2.GetJwksResponse(keys=[auth_pb2.Jwk(**jwk) for jwk in self._keys.jwks()])

    async def ListSessions(
        self, request: auth_pb2.ListSessionsRequest, context: Context
    ) -> auth_pb2.ListSessionsResponse:
        caller = await self._caller.authenticate(context)
        sessions = await _domain(self._sessions.list_sessions(caller))
        return auth_pb2.ListSessionsResponse(
            sessions=[
                auth_pb2.Session(
                    session_id=s.session_id,
                    created_at=_timestamp(s.created_at),
                    last_refreshed_at=_timestamp(s.last_refreshed_at),
                    current=s.session_id == caller.session_id,
                )
                for s in sessions
            ]
        )

    async def RevokeSession(
        self, request: auth_pb2.RevokeSessionRequest, context: Context
    ) -> auth_pb2.RevokeSessionResponse:
        caller = await self._caller.authenticate(context)
        await _domain(self._sessions.revoke(caller, request.session_id))
        return auth_pb2.RevokeSessionResponse()

    async def CloseAccount(
        self, request: auth_pb2.CloseAccountRequest, context: Context
    ) -> auth_pb2.CloseAccountResponse:
        caller = await self._caller.authenticate(context)
        state = await _domain(self._closure.close(caller.subject, request.password))
        if state is not AccountState.CLOSED:
            # Still running: accepted, not done (HTTP 202 through the gateway).
            await context.send_initial_metadata(((HTTP_CODE_METADATA, "202"),))
        return auth_pb2.CloseAccountResponse(account_state=_state(state))

    async def RequestPasswordReset(
        self, request: auth_pb2.RequestPasswordResetRequest, context: Context
    ) -> auth_pb2.RequestPasswordResetResponse:
        await _domain(
            self._credentials.request_password_reset(request.email, client_address(context))
        )
        return auth_pb2.RequestPasswordResetResponse()

    async def ConfirmPasswordReset(
        self, request: auth_pb2.ConfirmPasswordResetRequest, context: Context
    ) -> auth_pb2.ConfirmPasswordResetResponse:
        await _domain(
            self._credentials.confirm_password_reset(
                request.token, request.new_password, client_address(context)
            )
        )
        return auth_pb2.ConfirmPasswordResetResponse()

    async def ChangePassword(
        self, request: auth_pb2.ChangePasswordRequest, context: Context
    ) -> auth_pb2.ChangePasswordResponse:
        caller = await self._caller.authenticate(context)
        await _domain(
            self._credentials.change_password(
                caller, request.current_password, request.new_password, client_address(context)
            )
        )
        return auth_pb2.ChangePasswordResponse()

    async def ChangeEmail(
        self, request: auth_pb2.ChangeEmailRequest, context: Context
    ) -> auth_pb2.ChangeEmailResponse:
        caller = await self._caller.authenticate(context)
        await _domain(
            self._credentials.request_email_change(
                caller, request.password, request.new_email, client_address(context)
            )
        )
        return auth_pb2.ChangeEmailResponse()

    async def ConfirmEmailChange(
        self, request: auth_pb2.ConfirmEmailChangeRequest, context: Context
    ) -> auth_pb2.ConfirmEmailChangeResponse:
        await _domain(
            self._credentials.confirm_email_change(request.token, client_address(context))
        )
        return auth_pb2.ConfirmEmailChangeResponse()

    async def EnrollMfa(
        self, request: auth_pb2.EnrollMfaRequest, context: Context
    ) -> auth_pb2.EnrollMfaResponse:
        caller = await self._caller.authenticate(context)
        enrollment = await _domain(self._mfa.enroll(caller, client_address(context)))
        return auth_pb2.EnrollMfaResponse(
            secret=enrollment.secret,
            otpauth_uri=enrollment.otpauth_uri,
            qr_code=enrollment.qr_code,
        )

    async def ConfirmMfa(
        self, request: auth_pb2.ConfirmMfaRequest, context: Context
    ) -> auth_pb2.ConfirmMfaResponse:
        caller = await self._caller.authenticate(context)
        codes = await _domain(self._mfa.confirm(caller, request.code, client_address(context)))
        return auth_pb2.ConfirmMfaResponse(recovery_codes=codes)

    async def DisableMfa(
        self, request: auth_pb2.DisableMfaRequest, context: Context
    ) -> auth_pb2.DisableMfaResponse:
        caller = await self._caller.authenticate(context)
        await _domain(
            self._mfa.disable(caller, request.password, request.code, client_address(context))
        )
        return auth_pb2.DisableMfaResponse()

    async def CompleteMfaLogin(
        self, request: auth_pb2.CompleteMfaLoginRequest, context: Context
    ) -> auth_pb2.CompleteMfaLoginResponse:
        pair = await _domain(
            self._mfa.complete_login(request.mfa_token, request.code, client_address(context))
        )
        return _pair(pair, auth_pb2.CompleteMfaLoginResponse)
