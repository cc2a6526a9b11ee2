"""EnableSharding's data steps on a fake engine: the order of holds, checks and restarts, and
what a refusal midway leaves (the real processes are in tests/integration/test_enable_sharding_data.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from managed_redis.engine.facts import ProcessState, Role
from managed_redis.engine.model import Node
from managed_redis.errors import FailedPrecondition
from managed_redis.operations import sharding_switch
from managed_redis.operations.loaded_cluster import LoadedCluster
from tests.support.fake_world import World, make_world


class FakeAdmin:
    """A control connection that records the commands it is sent."""

    def __init__(self, name: str, sent: list[tuple[str, tuple[Any, ...]]], cluster_enabled: int = 0) -> None:
        self.name, self.sent, self.cluster_enabled = name, sent, cluster_enabled

    def execute_command(self, *args: Any) -> str:
        self.sent.append((self.name, args))
        return "OK"

    def info(self, section: str) -> dict[str, Any]:
        return {"cluster_enabled": self.cluster_enabled}


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = make_world(tmp_path)
    world.add_cluster("c1", hosts=2)
    return world


def armed(
    world: World, monkeypatch: pytest.MonkeyPatch, answers: list[list[str]], cluster_enabled: int = 0
) -> list[tuple[str, tuple[Any, ...]]]:
    """Give the fake engine control connections (whose hosts run in cluster mode or not) and
    successive ``databases_in_use`` answers."""
    sent: list[tuple[str, tuple[Any, ...]]] = []
    replies = iter(answers)
    monkeypatch.setattr(world.engine, "admin", lambda node: FakeAdmin(node.name, sent, cluster_enabled))

    def databases_in_use(node: Node) -> list[str]:
        sent.append((node.name, ("databases_in_use",)))
        return next(replies)

    monkeypatch.setattr(world.engine, "databases_in_use", databases_in_use)
    return sent


def plan_of(world: World) -> LoadedCluster:
    return LoadedCluster.load(world.db, world.deps, "c1")


def test_every_host_restarts_from_a_snapshot_master_first_under_a_hold(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = armed(world, monkeypatch, [["db0"], ["db0"]])
    plan = plan_of(world)
    sharding_switch.restart_in_cluster_mode(plan, plan.host("c1-h1"))
    steps = [(name, args[0]) for name, args in sent]
    assert steps == [
        ("c1-h1", "CLIENT"),  # hold writes
        ("c1-h1", "databases_in_use"),
        ("c1-h1", "CLIENT"),  # hold again once the replica stopped
        ("c1-h1", "databases_in_use"),
    ]
    calls = world.engine.calls
    assert calls.index(("stop_node", "c1-h2")) < calls.index(("restart_from_snapshot", "c1-h1"))
    assert world.engine.called("restart_from_snapshot") == ["c1-h1", "c1-h2"]
    assert sorted(world.engine.called("stop_sentinel")) == ["c1-h1", "c1-h2"]


def test_a_key_in_db5_written_while_replicas_stopped_stops_it_before_any_snapshot(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = armed(world, monkeypatch, [["db0"], ["db0", "db5"]])
    plan = plan_of(world)
    with pytest.raises(FailedPrecondition, match="keeps keys in db5"):
        sharding_switch.restart_in_cluster_mode(plan, plan.host("c1-h1"))
    assert world.engine.called("restart_from_snapshot") == []
    assert ("c1-h1", ("CLIENT", "UNPAUSE")) in sent

    master = sharding_switch.put_back(plan_of(world))

    assert master.name == "c1-h1"
    replica = world.engine.hosts["c1-h2"]
    assert replica.process == ProcessState.RUNNING and replica.master == world.engine.hosts["c1-h1"].address
    assert all(host.sentinel == ProcessState.RUNNING for host in world.engine.hosts.values())
    assert world.engine.called("restart_from_snapshot") == []


def test_a_master_that_is_no_longer_master_stops_it_before_anything_changes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    armed(world, monkeypatch, [])
    world.engine.hosts["c1-h1"].role = Role.REPLICA  # a Sentinel failover ran just before
    plan = plan_of(world)
    with pytest.raises(FailedPrecondition, match="stopped being the master"):
        sharding_switch.restart_in_cluster_mode(plan, plan.host("c1-h1"))
    assert world.engine.called("stop_node") == [] and world.engine.called("restart_from_snapshot") == []


def test_hosts_already_in_cluster_mode_are_put_back_from_a_snapshot_too(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    armed(world, monkeypatch, [], cluster_enabled=1)  # the switch failed after the hosts restarted
    master = sharding_switch.put_back(plan_of(world))
    assert master.name == "c1-h1"
    assert world.engine.called("restart_from_snapshot") == ["c1-h1", "c1-h2"]
    replica = world.engine.hosts["c1-h2"]
    assert replica.role == Role.REPLICA and replica.master == world.engine.hosts["c1-h1"].address
