"""The SMTP side: an aiosmtpd protocol that hands every accepted message to the store."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

from aiosmtpd.smtp import SMTP, Envelope, Session

from tollgate_devstack.mailcatcher._messages import CaughtMessage, MessageStore

MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class _CatchAll:
    """aiosmtpd handler: accepts every sender and recipient and keeps the message."""

    def __init__(
        self, store: MessageStore, on_message: Callable[[CaughtMessage], None] | None
    ) -> None:
        self._store = store
        self._on_message = on_message

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        caught = self._store.add(
            raw,
            envelope_from=envelope.mail_from or "",
            envelope_to=list(envelope.rcpt_tos),
        )
        if caught is not None and self._on_message is not None:
            self._on_message(caught)
        return "250 Message accepted for delivery"


class SmtpListener:
    """A listening SMTP server; ``close`` also drops open client connections."""

    def __init__(
        self,
        store: MessageStore,
        hostname: str,
        on_message: Callable[[CaughtMessage], None] | None = None,
    ) -> None:
        self._handler = _CatchAll(store, on_message)
        self._hostname = hostname
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def _protocol(self) -> SMTP:
        protocol = SMTP(
            self._handler,
            hostname=self._hostname,
            ident="Tollgate mail catcher",
            enable_SMTPUTF8=True,
            data_size_limit=MAX_MESSAGE_BYTES,
        )
        self._sessions.add(protocol)
        return protocol

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 picks a free port); returns the bound port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, host=host, port=port)
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for session in list(self._sessions):
            transport = session.transport
            if transport is not None:
                transport.close()
        await self._server.wait_closed()
        self._server = None
        # Let the sessions' handler tasks see the closed connections and end.
        for _ in range(3):
            await asyncio.sleep(0)
