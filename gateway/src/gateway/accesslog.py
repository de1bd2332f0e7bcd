"""The per-request log line, written in batches.

Lines are rendered by the processors ``tollgate_kit.logs.configure_logging`` installed
(the same JSON: ts, level, service, msg, trace_id, span_id …) but collected in memory
and written in few ``write`` calls per flush (every ``flush_interval`` seconds, or sooner
when ``max_lines`` are waiting), not one system call per request: on a busy gateway the
unbatched writes cost about a third of its throughput. Each write holds whole lines and at
most ``PIPE_BUF`` bytes, which a pipe takes atomically: the uvicorn workers share one stdout,
and larger writes could interleave mid-line with another worker's.
"""

from __future__ import annotations

import asyncio
import io
import os
import select
import sys
from typing import Any

import structlog


class AccessLog:
    def __init__(self, *, flush_interval: float = 0.1, max_lines: int = 256) -> None:
        self._lines: list[str] = []
        self._interval = flush_interval
        self._max_lines = max_lines
        config = structlog.get_config()
        self.logger: Any = structlog.wrap_logger(
            self,
            processors=config["processors"],
            wrapper_class=config["wrapper_class"],
            logger_name="gateway.access",
        )

    # The methods structlog calls with the rendered line, by log level.
    def msg(self, message: str) -> None:
        self._lines.append(message)
        if len(self._lines) >= self._max_lines:
            self.flush()

    debug = info = warning = error = critical = exception = msg

    def flush(self) -> None:
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        sys.stdout.flush()  # what other loggers buffered goes out first
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            data = (line + "\n").encode()
            if chunk and size + len(data) > select.PIPE_BUF:
                _write(b"".join(chunk))
                chunk, size = [], 0
            chunk.append(data)
            size += len(data)
        if chunk:
            _write(b"".join(chunk))

    async def run(self) -> None:
        """Flush periodically until cancelled; flushes what is left on the way out."""
        try:
            while True:
                await asyncio.sleep(self._interval)
                self.flush()
        finally:
            self.flush()


def _write(data: bytes) -> None:
    """One write of ``data`` to standard output (a pipe takes up to PIPE_BUF bytes whole)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, io.UnsupportedOperation):  # a stand-in stdout (tests)
        sys.stdout.write(data.decode())
        sys.stdout.flush()
        return
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
