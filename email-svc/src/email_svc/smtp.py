"""SMTP delivery with aiosmtplib, failures translated to the domain's delivery errors."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from email_svc.domain import DeliveryRefused, DeliveryUnavailable, RecipientRejected

SmtpSecurity = Literal["none", "starttls", "tls"]


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

    async def deliver(self, message: EmailMessage) -> None:
        """One connection per message: transactional mail is sparse, and a fresh connection
        never inherits a half-broken session."""
        try:
            # aiosmtplib's timeout is per command; this bounds the whole exchange.
            async with asyncio.timeout(self._timeout):
                await aiosmtplib.send(
                    message,
                    hostname=self._host,
                    port=self._port,
                    timeout=self._timeout,
                    use_tls=self._security == "tls",
                    start_tls=self._security == "starttls",
                    username=self._username,
                    password=self._password,
                )
        except TimeoutError:
            raise DeliveryUnavailable(f"SMTP server {self._where} timed out") from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                raise RecipientRejected(
                    f"SMTP server refused the recipient: {exc.recipients[0].message}",
                    smtp_code=codes[0],
                ) from None
            raise DeliveryUnavailable(
                "SMTP server deferred the recipient", smtp_code=codes[0] if codes else None
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise DeliveryRefused(
                    f"SMTP server {self._where} refused the message: {exc.code} {exc.message}",
                    smtp_code=exc.code,
                ) from None
            raise DeliveryUnavailable(
                f"SMTP server {self._where} answered {exc.code} {exc.message}", smtp_code=exc.code
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryUnavailable(f"SMTP server {self._where} unreachable: {exc}") from None

    @property
    def _where(self) -> str:
        return f"{self._host}:{self._port}"
