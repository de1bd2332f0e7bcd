"""A stack whose ports are taken refuses to start, before it starts anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tollgate_devstack.services import available_services
from tollgate_devstack.stack import Stack, StackConfig, StackError, port_keys
from tollgate_devstack.testing import free_port, postgres_server_url, redis_server_url


def test_a_port_in_use_stops_the_start_before_anything_runs(tmp_path: Path) -> None:
    ports = {key: free_port() for key in port_keys(available_services())}
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        # Another `make run`'s auth-svc, say: it would answer this stack's readiness check.
        other.bind(("127.0.0.1", ports["auth.http"]))
        other.listen()
        stack = Stack(
            StackConfig(
                database_url=postgres_server_url(),
                redis_url=redis_server_url(),
                data_dir=tmp_path,
                ports=ports,
            )
        )
        with pytest.raises(StackError, match=rf"{ports['auth.http']} \(auth\.http\).*make run"):
            stack.start()
    assert stack.exited() == []
    assert not (tmp_path / "keys").exists()


def test_the_ports_a_stack_listens_on_are_the_configured_ones(tmp_path: Path) -> None:
    ports = {key: free_port() for key in port_keys(available_services())}
    stack = Stack(StackConfig(database_url=None, redis_url=None, data_dir=tmp_path, ports=ports))
    assert stack.listen_ports() == ports
