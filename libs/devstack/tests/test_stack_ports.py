"""A stack whose ports are taken refuses to start, before it starts anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tollgate_devstack.__main__ import banner
from tollgate_devstack.services import available_services, port_keys
from tollgate_devstack.stack import Stack, StackConfig, StackError, config_from_env
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


def test_replicas_get_their_own_ports_and_callers_get_every_replica(tmp_path: Path) -> None:
    specs = available_services()
    ports = {key: free_port() for key in port_keys(specs, replicas=2)}
    config = StackConfig(
        database_url=None, redis_url=None, data_dir=tmp_path, ports=ports, replicas=2
    )
    stack = Stack(config)
    assert stack.listen_ports() == ports
    assert stack.replicas("billing") == ["billing", "billing-2"]
    assert stack.grpc_addrs("billing") == (
        f"127.0.0.1:{ports['billing.grpc']},127.0.0.1:{ports['billing-2.grpc']}"
    )
    assert stack.http_url("gateway-2") == f"http://127.0.0.1:{ports['gateway-2.http']}"
    with pytest.raises(StackError):
        stack.grpc_addr("billing-3")


def test_make_run_replicas_take_the_next_ports_by_ten(tmp_path: Path) -> None:
    config = config_from_env({"TOLLGATE_REPLICAS": "2"}, tmp_path)
    stack = Stack(config)
    assert stack.grpc_addrs("auth") == "127.0.0.1:50051,127.0.0.1:50061"
    assert stack.http_url("gateway-2") == "http://127.0.0.1:8090"
    with pytest.raises(StackError, match="TOLLGATE_REPLICAS"):
        config_from_env({"TOLLGATE_REPLICAS": "many"}, tmp_path)


def test_the_banner_lists_every_replica(tmp_path: Path) -> None:
    stack = Stack(config_from_env({"TOLLGATE_REPLICAS": "2"}, tmp_path))
    text = "\n".join(banner(stack, tmp_path))
    for line in (
        "gateway      http://127.0.0.1:8080",
        "gateway-2    http://127.0.0.1:8090",
        "billing      grpc 127.0.0.1:50052",
        "billing-2    grpc 127.0.0.1:50062",
        "auth-2       grpc 127.0.0.1:50061",
        "2 replicas of each service",
    ):
        assert line in text
