"""A real PgBouncer (Debian's ``pgbouncer``) in transaction pooling mode in front of the test
PostgreSQL, for tests: its own ini and userlist in a temporary folder, a free port, stopped
on exit."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tollgate_devstack.testing import free_port, postgres_server_url

# asyncpg behind PgBouncer in transaction mode: the next statement may run on another server
# connection, which never prepared asyncpg's cached statements (PgBouncer 1.21+ can track
# them with max_prepared_statements; Debian 12 has 1.18).
POOLED_DSN_OPTIONS = "statement_cache_size=0"


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )


@contextmanager
def pgbouncer(
    data_dir: Path,
    *,
    default_pool_size: int = 20,
    max_db_connections: int = 40,
    max_client_conn: int = 2000,
    users: Sequence[str] = (),
) -> Iterator[int]:
    """Start PgBouncer for every database of the test server; yields its port.

    At most ``max_db_connections`` server connections per database, however many clients
    (up to ``max_client_conn``) are connected. ``users`` may log in besides the test
    server's (trust, as the test server); that one is also the admin (``SHOW POOLS``)."""
    binary = pgbouncer_binary()
    if binary is None:
        raise RuntimeError("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    server = urlsplit(postgres_server_url())
    user = server.username or "postgres"
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "userlist.txt").write_text("".join(f'"{name}" ""\n' for name in (user, *users)))
    (data_dir / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={server.hostname or '127.0.0.1'} port={server.port or 5432}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"admin_users = {user}",
                f"auth_file = {data_dir / 'userlist.txt'}",
                "pool_mode = transaction",
                f"default_pool_size = {default_pool_size}",
                f"max_db_connections = {max_db_connections}",
                f"max_client_conn = {max_client_conn}",
                # Startup parameters PgBouncer 1.18 cannot pass on: asyncpg's, and billing-svc's
                # session settings (behind a pooler the database carries those).
                "ignore_startup_parameters = extra_float_digits,statement_timeout,"
                "default_transaction_isolation",
                "",
            ]
        )
    )
    log_path = data_dir / "pgbouncer.log"
    # PgBouncer refuses to run as root: then it drops to an unprivileged user once it has
    # read its files (it logs to our pipe and keeps no pid file or socket folder).
    as_user = ["-u", _unprivileged_user()] if os.geteuid() == 0 else []
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [binary, *as_user, str(data_dir / "pgbouncer.ini")],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                log = log_path.read_text(errors="replace")
                raise RuntimeError(f"pgbouncer exited ({proc.returncode}):\n{log[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not listen on {port}")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("no unprivileged user to run pgbouncer as")
