"""The local engine keeps a node's data across restarts while its persistence changes shape.

Real redis-server processes driven by the engine directly, without a control plane.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from managed_redis.engine.local import LocalEngine
from managed_redis.engine.model import Credentials, Node
from tests.support.lone_node import lone_node
from tests.support.processes import kill_all, pid_of

KEYS = 20_000


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    credentials = Credentials(password="customer-secret", admin_password="admin-secret")
    with lone_node(tmp_path, credentials, appendonly=False) as node:
        yield node


def customer(node: Node) -> redis.Redis:
    return redis.Redis(host=node.address, password=node.credentials.password, decode_responses=True)


def wait_for(condition: Callable[[], object], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_node_whose_aof_is_not_written_yet_starts_from_its_rdb(node: Node) -> None:
    """Redis itself, told ``appendonly yes`` with no AOF on disk, starts empty beside an RDB
    that holds everything: the state after a snapshot is placed, or after a crash during the
    first AOF rewrite."""
    engine = LocalEngine()
    engine.ensure_node(node)
    client = customer(node)
    client.mset({f"key:{number}": str(number) for number in range(KEYS)})
    engine.stop_node(node, save=True)
    assert engine.rdb_path(node).exists() and not engine.aof_manifest(node).exists()

    with_aof = dataclasses.replace(node, appendonly=True)
    engine.ensure_node(with_aof)

    assert client.dbsize() == KEYS
    assert client.get("key:123") == "123"
    assert engine.admin(node).config_get("appendonly") == {"appendonly": "yes"}
    assert "appendonly yes" in with_aof.conf_file.read_text()
    # Once the AOF is complete it is what a restart reads, even after a kill.
    wait_for(engine.aof_manifest(node).exists)
    wait_for(lambda: engine.admin(node).info("persistence")["aof_rewrite_in_progress"] == 0)
    client.set("written-after", "2")
    kill_all(f"{node.address}/32")
    engine.ensure_node(with_aof)
    assert client.dbsize() == KEYS + 1
    assert client.get("written-after") == "2"


def test_a_running_node_meant_to_keep_an_aof_gets_it_turned_on(node: Node) -> None:
    engine = LocalEngine()
    engine.ensure_node(node)
    pid = pid_of(f"{node.address}/32", node.marker)
    engine.ensure_node(dataclasses.replace(node, appendonly=True))
    assert pid_of(f"{node.address}/32", node.marker) == pid
    assert engine.admin(node).config_get("appendonly") == {"appendonly": "yes"}
