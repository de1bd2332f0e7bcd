"""SMTP delivery with aiosmtplib, failures translated to the domain's delivery errors."""

from __future__ import annotations

import asyncio
import re
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from email_svc.domain import DeliveryRefused, DeliveryUnavailable, RecipientRejected

SmtpSecurity = Literal["none", "starttls", "tls"]
# Authentication required / failed.
_AUTH_CODES = frozenset({530, 535})


_ENHANCED_STATUS = re.compile(r"\s*([245]\.\d{1,3}\.\d{1,3})\b")


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    """The reply's codes, not its text: servers echo the recipient's address there, and these
    messages reach logs, the outbox row and the caller."""
    enhanced = _ENHANCED_STATUS.match(exc.message)
    return f"{exc.code} {enhanced.group(1)}" if enhanced else str(exc.code)


def _policy_refusal(code: int, message: str) -> bool:
    """A permanent RCPT refusal for security or policy (enhanced status 5.7.x, RFC 3463) or
    for missing authentication: the sending set-up is wrong, the recipient may be fine."""
    return code in _AUTH_CODES or (500 <= code < 600 and message.lstrip().startswith("5.7."))


class SmtpTransport:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout_seconds: float,
        security: SmtpSecurity = "none",
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._timeout = timeout_seconds
        self._security = security
        self._username = username
        self._password = password

    async def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        """Send ``message`` from ``sender`` to ``recipient`` (the envelope: given, never read
        back from the headers, where mail software may decode what the checked address did
        not say). One connection per message: transactional mail is sparse, and a fresh
        connection never inherits a half-broken session.

        The whole exchange, QUIT included, fits in one timeout, so it ends before the send's
        lease (which must outlast it) can. Once the server has answered 250 to the message,
        the mail is delivered whatever becomes of the QUIT that follows: a slow or failed QUIT
        must not turn into a retry, which would send the mail twice.
        """
        smtp = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            timeout=self._timeout,
            use_tls=self._security == "tls",
            start_tls=self._security == "starttls",
            username=self._username,
            password=self._password,
        )
        # aiosmtplib's timeout is per command; this deadline bounds the whole exchange.
        deadline = asyncio.get_running_loop().time() + self._timeout
        try:
            async with asyncio.timeout_at(deadline):
                await smtp.connect()
                await smtp.send_message(message, sender=sender, recipients=[recipient])
        except BaseException as exc:
            smtp.close()
            translated = self._translate(exc)
            if translated is None:
                raise
            raise translated from None
        try:
            async with asyncio.timeout_at(deadline):
                await smtp.quit()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            smtp.close()

    def _translate(self, exc: BaseException) -> Exception | None:
        """The delivery error ``exc`` means; None for what is not the server's doing."""
        if isinstance(exc, TimeoutError):
            return DeliveryUnavailable(f"SMTP server {self._where} timed out")
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            codes = [refused.code for refused in exc.recipients]
            if any(_policy_refusal(r.code, r.message) for r in exc.recipients):
                # "Relay access denied", "authentication required": our relay set-up is at
                # fault, not the address; kept retryable until the configuration is fixed.
                return DeliveryRefused(
                    f"SMTP server {self._where} refused to relay: {_reply(exc.recipients[0])}",
                    smtp_code=codes[0],
                )
            if codes and all(500 <= code < 600 for code in codes):
                return RecipientRejected(
                    f"SMTP server refused the recipient: {_reply(exc.recipients[0])}",
                    smtp_code=codes[0],
                )
            return DeliveryUnavailable(
                "SMTP server deferred the recipient", smtp_code=codes[0] if codes else None
            )
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            if 500 <= exc.code < 600:
                return DeliveryRefused(
                    f"SMTP server {self._where} refused the message: {_reply(exc)}",
                    smtp_code=exc.code,
                )
            return DeliveryUnavailable(
                f"SMTP server {self._where} answered {_reply(exc)}", smtp_code=exc.code
            )
        if isinstance(exc, aiosmtplib.SMTPException | OSError):
            return DeliveryUnavailable(
                f"SMTP server {self._where} unreachable ({type(exc).__name__})"
            )
        return None

    @property
    def _where(self) -> str:
        return f"{self._host}:{self._port}"
