"""Closing an account: re-check the password, refuse a wallet with money in it, then start
the closure saga (:mod:`auth_svc.sagas.closure`) and wait a few seconds for it to finish."""

from __future__ import annotations

from typing import Protocol

from auth_svc.domain.accounts import CLOSURE_SAGA, AccountState
from auth_svc.domain.errors import (
    AccountClosureFailed,
    AccountNotClosable,
    InvalidCredentials,
    ServiceUnavailable,
    UserNotFound,
    WalletNotEmpty,
)
from auth_svc.domain.passwords import password_bytes
from auth_svc.hashing import PasswordHasher
from auth_svc.usecases.accounts import SagaLauncher
from auth_svc.usecases.ports import Users
from tollgate_kit.logs import get_logger
from tollgate_kit.saga import PermanentFailure

log = get_logger(__name__)

WALLET_NOT_EMPTY = "WALLET_NOT_EMPTY"


class WalletCheck(Protocol):
    async def close(self, user_id: str, *, validate_only: bool = False) -> None: ...


class ClosureStarter(Protocol):
    async def begin_closure(self, user_id: str) -> str | None: ...


class AccountClosure:
    def __init__(
        self,
        users: Users,
        accounts: ClosureStarter,
        wallets: WalletCheck,
        hasher: PasswordHasher,
        sagas: SagaLauncher,
        *,
        wait: float,
    ) -> None:
        self._users = users
        self._accounts = accounts
        self._wallets = wallets
        self._hasher = hasher
        self._sagas = sagas
        self._wait = wait

    async def close(self, user_id: str, password: str) -> AccountState:
        """CLOSED, or CLOSING when the saga is still running after the wait. Nothing changes
        when the password is wrong or the wallet holds money."""
        user = await self._users.by_id(user_id)
        if user is None:
            raise UserNotFound("user not found")
        if not await self._hasher.verify(password_bytes(password), user.password_hash or None):
            raise InvalidCredentials("wrong password")
        if user.state in (AccountState.CLOSING, AccountState.CLOSED):
            raise AccountNotClosable("the account is already being closed")
        await self._check_wallet(user_id)
        saga_id = await self._accounts.begin_closure(user_id)
        if saga_id is None:
            raise AccountNotClosable("the account is already being closed")
        log.info("account_closure_started", user_id=user_id, saga_id=saga_id)
        self._sagas.launch(saga_id, CLOSURE_SAGA)
        saga = await self._sagas.wait_finished(saga_id, self._wait)
        after = await self._users.by_id(user_id)
        state = after.state if after is not None else AccountState.CLOSING
        if state is AccountState.ACTIVE:
            # Undone: a step failed for good (money arrived after the check, a mail refused).
            if saga is not None and saga.failure == WALLET_NOT_EMPTY:
                raise WalletNotEmpty("the wallet is not empty")
            raise AccountClosureFailed("the account could not be closed; it is open again")
        return state

    async def _check_wallet(self, user_id: str) -> None:
        try:
            await self._wallets.close(user_id, validate_only=True)
        except PermanentFailure as err:
            if err.reason == WALLET_NOT_EMPTY:
                raise WalletNotEmpty(
                    "the wallet is not empty: spend its balance before closing the account"
                ) from err
            raise ServiceUnavailable("billing refused the check; retry later") from err
        except Exception as err:
            log.warning("wallet_check_failed", user_id=user_id, error=type(err).__name__)
            raise ServiceUnavailable("billing is unavailable; retry later") from err
