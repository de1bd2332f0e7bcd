"""The account-closure saga. Its start (in one transaction with the saga row) set the account
CLOSING; then: close the wallet (billing-svc; its ledger rows stay) → end every session →
goodbye mail (email-svc) → erase the personal data, CLOSED.

A step that fails for good undoes the completed ones in reverse: the wallet is reopened, and
the account is ACTIVE again with a mail telling the user. Ended sessions stay ended (the user
signs in again), and nothing follows the erasure, so it is never undone.
"""

from __future__ import annotations

from typing import Protocol

from auth_svc.domain.accounts import ACCOUNT_CLOSED_TEMPLATE, CLOSURE_SAGA, saga_mail_id
from auth_svc.domain.outbox import DeliveryOutcome, OutboxMessage
from tollgate_kit.saga import PermanentFailure, SagaDefinition, Step, StepContext


class WalletCloser(Protocol):
    async def close(self, user_id: str, *, validate_only: bool = False) -> None: ...

    async def reopen(self, user_id: str) -> None: ...


class ClosingAccounts(Protocol):
    async def email_of(self, user_id: str) -> str | None: ...

    async def restore(self, user_id: str) -> bool: ...

    async def erase(self, user_id: str) -> None: ...


class SessionEnder(Protocol):
    async def end_all(self, user_id: str) -> int: ...


class MailSender(Protocol):
    async def send(
        self, message_id: str, message: OutboxMessage
    ) -> tuple[DeliveryOutcome, str]: ...


class MailNotSent(Exception):
    """email-svc could not send now (it or SMTP is down): the step is retried."""


def closure_saga(
    wallets: WalletCloser,
    accounts: ClosingAccounts,
    sessions: SessionEnder,
    mail: MailSender,
) -> SagaDefinition:
    async def nothing(ctx: StepContext) -> None:
        """CLOSING was set with the saga row."""

    async def restore_account(ctx: StepContext) -> None:
        await accounts.restore(ctx.subject)

    async def close_wallet(ctx: StepContext) -> None:
        await wallets.close(ctx.subject)

    async def reopen_wallet(ctx: StepContext) -> None:
        await wallets.reopen(ctx.subject)

    async def end_sessions(ctx: StepContext) -> None:
        await sessions.end_all(ctx.subject)

    async def goodbye_mail(ctx: StepContext) -> None:
        email = await accounts.email_of(ctx.subject)
        if not email:
            return
        outcome, error = await mail.send(
            saga_mail_id(ctx.saga_id, "goodbye"),
            OutboxMessage(template=ACCOUNT_CLOSED_TEMPLATE, recipient=email),
        )
        if outcome is DeliveryOutcome.REJECTED:
            raise PermanentFailure("MAIL_REJECTED", error)
        if outcome is DeliveryOutcome.RETRY:
            raise MailNotSent(error)

    async def erase_personal_data(ctx: StepContext) -> None:
        # Sessions again: a login that raced the first sweep cannot outlive the account.
        await sessions.end_all(ctx.subject)
        await accounts.erase(ctx.subject)

    return SagaDefinition(
        CLOSURE_SAGA,
        (
            Step("mark_closing", nothing, restore_account),
            Step("close_wallet", close_wallet, reopen_wallet),
            Step("end_sessions", end_sessions),
            Step("goodbye_mail", goodbye_mail),
            Step("erase_personal_data", erase_personal_data),
        ),
    )
