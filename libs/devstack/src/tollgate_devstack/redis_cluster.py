"""A real Redis Cluster for tests: three masters (``redis-server --cluster-enabled yes``) on
free ports, the 16384 slots split between them, removed on exit."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tollgate_devstack.testing import RedisServerProcess, free_port

SLOTS = 16384


@contextmanager
def redis_cluster(data_dir: Path, masters: int = 3, timeout: float = 20.0) -> Iterator[str]:
    """Start the cluster and yield its ``REDIS_URL`` (one node, ``?cluster=true``)."""
    with contextlib.ExitStack() as stack:
        nodes, buses = [], []
        for index in range(masters):
            node_dir = data_dir / f"node{index}"
            # The bus port is chosen too (the default, port + 10000, may be taken).
            buses.append(free_port())
            args = [
                "--cluster-port",
                str(buses[-1]),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(node_dir / "nodes.conf"),
                "--cluster-node-timeout",
                "2000",
            ]
            nodes.append(stack.enter_context(RedisServerProcess(node_dir, args)))
        clients = [redis.Redis(port=node.port) for node in nodes]
        for client in clients:
            stack.callback(client.close)
        # What `redis-cli --cluster create --cluster-replicas 0` does: equal slot ranges,
        # then every node meets the first.
        bounds = [SLOTS * i // masters for i in range(masters + 1)]
        for client, low, high in zip(clients, bounds, bounds[1:], strict=False):
            client.execute_command("CLUSTER ADDSLOTS", *range(low, high))  # type: ignore[no-untyped-call]
        for node, bus in zip(nodes[1:], buses[1:], strict=True):
            clients[0].execute_command("CLUSTER MEET", "127.0.0.1", node.port, bus)  # type: ignore[no-untyped-call]
        _wait_ok(clients, masters, timeout)
        yield f"redis://127.0.0.1:{nodes[0].port}/0?cluster=true"


def _wait_ok(clients: list[redis.Redis], masters: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    infos: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        infos = [client.cluster("INFO") for client in clients]
        if all(
            info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == masters
            for info in infos
        ):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the Redis Cluster did not reach cluster_state:ok: {infos}")
