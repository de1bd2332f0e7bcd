"""The sign-up saga: open the wallet (billing-svc, with the sign-up credit) → release the
welcome mail (held in the outbox since Register) → ACTIVE."""

from __future__ import annotations

from typing import Protocol

from auth_svc.domain.accounts import REGISTRATION_SAGA
from tollgate_kit.saga import SagaDefinition, Step, StepContext


class WalletOpener(Protocol):
    async def open(self, user_id: str, key: str, sign_up_credit: bool) -> None: ...


class SignUpAccounts(Protocol):
    async def release_mail(self, message_id: str) -> None: ...

    async def activate(self, user_id: str) -> None: ...


def registration_saga(wallets: WalletOpener, accounts: SignUpAccounts) -> SagaDefinition:
    async def open_wallet(ctx: StepContext) -> None:
        credit = ctx.payload.get("sign_up_credit") is True
        await wallets.open(ctx.subject, ctx.saga_id, credit)

    async def welcome_mail(ctx: StepContext) -> None:
        # Users who existed before sagas got one without mail (migration 0003).
        message_id = ctx.payload.get("welcome_message_id")
        if isinstance(message_id, str):
            await accounts.release_mail(message_id)

    async def activate(ctx: StepContext) -> None:
        await accounts.activate(ctx.subject)

    return SagaDefinition(
        REGISTRATION_SAGA,
        (
            Step("open_wallet", open_wallet),
            Step("welcome_mail", welcome_mail),
            Step("activate", activate),
        ),
    )
