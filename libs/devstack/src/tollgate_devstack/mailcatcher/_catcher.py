"""MailCatcher: the SMTP listener and the HTTP API together, in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Generator
from pathlib import Path
from types import TracebackType

import uvicorn

from tollgate_devstack.mailcatcher._http import build_app
from tollgate_devstack.mailcatcher._messages import CaughtMessage, MessageStore
from tollgate_devstack.mailcatcher._smtp import SmtpListener

SMTP_PORT = 1025
HTTP_PORT = 8025


class _EmbeddedServer(uvicorn.Server):
    """uvicorn that leaves signal handling to whoever runs the catcher."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class MailCatcher:
    """A development SMTP server that keeps every message and serves Mailpit's API.

    ``smtp_port``/``http_port`` 0 pick free ports; the bound ports are the properties of the
    same names once started. ``stop()`` then ``start()`` reopens the same ports and keeps
    the messages (a stopped catcher refuses connections, like a mail server that is down).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        smtp_port: int = SMTP_PORT,
        http_port: int = HTTP_PORT,
        store_dir: Path | None = None,
        max_messages: int = 500,
        ignore_duplicate_ids: bool = False,
        hostname: str = "mailcatcher.tollgate.local",
        on_message: Callable[[CaughtMessage], None] | None = None,
    ) -> None:
        self.host = host
        self._smtp_port = smtp_port
        self._http_port = http_port
        self.store = MessageStore(
            store_dir=store_dir,
            max_messages=max_messages,
            ignore_duplicate_ids=ignore_duplicate_ids,
        )
        self._hostname = hostname
        self._smtp: SmtpListener | None = None
        self._http: _EmbeddedServer | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._loaded = False
        self._on_message = on_message

    @property
    def smtp_port(self) -> int:
        return self._smtp_port

    @property
    def http_port(self) -> int:
        return self._http_port

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self._http_port}"

    @property
    def running(self) -> bool:
        return self._smtp is not None

    def messages(self) -> list[CaughtMessage]:
        """Every kept message, oldest first."""
        return self.store.all()

    async def start(self) -> None:
        if self.running:
            raise RuntimeError("mail catcher already running")
        if not self._loaded:
            self.store.load()
            self._loaded = True
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._http_port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._http_port = sock.getsockname()[1]
        smtp = SmtpListener(self.store, self._hostname, self._on_message)
        try:
            self._smtp_port = await smtp.start(self.host, self._smtp_port)
        except OSError:
            sock.close()
            raise
        self._smtp = smtp
        config = uvicorn.Config(
            build_app(self.store),
            log_config=None,
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._http = _EmbeddedServer(config)
        self._http_task = asyncio.create_task(self._serve_http(self._http, sock))
        while not self._http.started:
            if self._http_task.done():
                await self._http_task  # re-raise why uvicorn did not start
                raise RuntimeError("HTTP server stopped during start-up")
            await asyncio.sleep(0.005)

    @staticmethod
    async def _serve_http(server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            sock.close()

    async def stop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            await smtp.close()
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            await self._http_task
        self._http = None
        self._http_task = None

    async def __aenter__(self) -> MailCatcher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
