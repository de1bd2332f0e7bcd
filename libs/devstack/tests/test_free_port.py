"""free_port hands out ports that outgoing connections cannot take in the meantime."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tollgate_devstack import testing
from tollgate_devstack.testing import free_port


def ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_ports_lie_outside_the_ephemeral_range_and_are_never_handed_out_twice() -> None:
    low, high = ephemeral_range()
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(not low <= port <= high for port in ports)
    assert all(port >= 10000 for port in ports)


def test_a_port_with_a_listener_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    # A pool of 80 ports, 64 of them taken by listeners: random picks land on taken ports
    # all the time, and only the bind check keeps them out.
    low = testing._PORT_POOL[0]
    monkeypatch.setattr(testing, "_PORT_POOL", (low, low + 80))
    monkeypatch.setattr(testing, "_handed_out", set())
    listeners = []
    try:
        for port in range(low, low + 64):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind(("127.0.0.1", port))
                sock.listen()
                listeners.append(sock)
            except OSError:
                sock.close()
        taken = {sock.getsockname()[1] for sock in listeners}
        assert len(taken) > 50
        handed = [free_port() for _ in range(80 - 64)]
        assert not taken & set(handed)
        for port in handed:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind(("127.0.0.1", port))
    finally:
        for sock in listeners:
            sock.close()


def test_the_pool_sits_below_the_range_when_there_is_room_and_above_it_otherwise(
    tmp_path: Path,
) -> None:
    def pool(text: str) -> tuple[int, int]:
        (tmp_path / "range").write_text(text)
        return testing._port_pool(tmp_path / "range")

    assert pool("32768\t60999\n") == (16384, 32768)
    assert pool("20000 60999") == (10000, 20000)
    assert pool("1024 40000") == (40001, 56385)
    assert pool("1024 65535") == (65536, 65536)  # no room: free_port lets the kernel choose
    assert pool("garbage") == (16384, 32768)
