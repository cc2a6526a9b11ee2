"""The rolling restart of Update (and maintenance) on a fake engine: the order of restarts, the
hold that keeps the old master from resyncing before it restarts, and the Sentinels one at a
time (the real processes are in tests/integration/test_version_upgrade.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from managed_redis.engine.errors import EngineError
from managed_redis.engine.facts import Role
from managed_redis.engine.model import Node
from managed_redis.operations import steps
from managed_redis.operations.handlers import update
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.store.clusters import HostRecord
from tests.support.fake_world import World, make_world

WATCHED = ("stop_node", "ensure_node", "switch", "hold", "release", "stop_sentinel", "ensure_sentinel")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    world = make_world(tmp_path)
    world.add_cluster("c1", hosts=3)
    engine = world.engine
    monkeypatch.setattr(update, "wait_settled", lambda engine, sentinels: None)
    plain_config_set = engine.config_set

    def config_set(node: Node, pairs: Sequence[tuple[str, str]]) -> None:
        plain_config_set(node, pairs)
        for key, value in pairs:
            if key == "masteruser":
                engine.calls.append(("hold" if value == update.HOLD_USER else "release", node.name))
            if key == "min-replicas-to-write":
                engine.calls.append(("guard", f"{node.name}={value}"))

    monkeypatch.setattr(engine, "config_set", config_set)
    return world


Switch = Callable[[LoadedCluster, HostRecord, HostRecord, bool], None]


def switch_as_sentinel_would(world: World, demoted_then_fails: bool = False, fails: bool = False) -> Switch:
    """A stand-in for ``steps.switch_master``: records itself and moves the roles (or fails
    before the promotion, or after it)."""

    def switch(plan: LoadedCluster, master: HostRecord, target: HostRecord, held: bool = False) -> None:
        world.engine.calls.append(("switch", f"{master.name}->{target.name}{' held' if held else ''}"))
        if fails:
            raise EngineError("the target did not catch up")
        old, new = world.engine.hosts[master.name], world.engine.hosts[target.name]
        old.role, old.master, new.role, new.master = Role.REPLICA, new.address, Role.MASTER, None
        if demoted_then_fails:
            raise EngineError("not every sentinel names the target")
        for host in world.engine.hosts.values():
            host.sentinel_names = new.address

    return switch


def watched(world: World) -> list[tuple[str, str]]:
    return [(method, name) for method, name in world.engine.calls if method in WATCHED]


def test_replicas_then_held_master_then_each_sentinel_alone(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(steps, "switch_master", switch_as_sentinel_would(world))
    plan = LoadedCluster.load(world.db, world.deps, "c1")
    assert update.restart_all(plan, {"shard1": plan.host("c1-h1")}, sentinels=True) == {"shard1": "c1-h2"}
    assert watched(world) == [
        ("stop_node", "c1-h2"),
        ("ensure_node", "c1-h2"),
        ("stop_node", "c1-h3"),
        ("ensure_node", "c1-h3"),
        ("hold", "c1-h1"),  # before the switchover: demoted, it cannot resync on its old binary
        ("switch", "c1-h1->c1-h2 held"),
        ("stop_node", "c1-h1"),
        ("ensure_node", "c1-h1"),  # its own config again: it replicates as the control plane
        ("stop_sentinel", "c1-h1"),
        ("ensure_sentinel", "c1-h1"),
        ("stop_sentinel", "c1-h2"),
        ("ensure_sentinel", "c1-h2"),
        ("stop_sentinel", "c1-h3"),
        ("ensure_sentinel", "c1-h3"),
    ]


@pytest.mark.parametrize("hosts", [2, 3])
def test_the_only_replica_stops_only_once_its_master_may_write_alone(
    world: World, monkeypatch: pytest.MonkeyPatch, hosts: int
) -> None:
    """With one replica, its master's guard (min-replicas-to-write 1) is lifted before it
    stops, and the new master's before the old one restarts: else every write is refused
    until it is back. With two, the other replica stays linked and the guard stays."""
    world.add_cluster("c2", hosts=hosts)
    monkeypatch.setattr(steps, "switch_master", switch_as_sentinel_would(world))
    plan = LoadedCluster.load(world.db, world.deps, "c2")
    update.restart_all(plan, {"shard1": plan.host("c2-h1")})
    calls = [(method, name) for method, name in world.engine.calls if method in ("guard", "stop_node")]
    if hosts == 2:
        assert calls == [("guard", "c2-h1=0"), ("stop_node", "c2-h2"), ("guard", "c2-h2=0"), ("stop_node", "c2-h1")]
    else:
        assert calls == [("stop_node", "c2-h2"), ("stop_node", "c2-h3"), ("stop_node", "c2-h1")]


def test_a_restart_on_the_same_binary_leaves_the_sentinels(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(steps, "switch_master", switch_as_sentinel_would(world))
    plan = LoadedCluster.load(world.db, world.deps, "c1")
    update.restart_all(plan, {"shard1": plan.host("c1-h1")})
    assert world.engine.called("stop_sentinel") == [] and world.engine.called("ensure_sentinel") == []


@pytest.mark.parametrize(("demoted", "released"), [(False, True), (True, False)])
def test_a_failed_switchover_releases_the_hold_only_of_a_master(
    world: World, monkeypatch: pytest.MonkeyPatch, demoted: bool, released: bool
) -> None:
    switch = switch_as_sentinel_would(world, demoted_then_fails=demoted, fails=not demoted)
    monkeypatch.setattr(steps, "switch_master", switch)
    plan = LoadedCluster.load(world.db, world.deps, "c1")
    with pytest.raises(EngineError):
        update.restart_all(plan, {"shard1": plan.host("c1-h1")}, sentinels=True)
    assert (("release", "c1-h1") in watched(world)) is released
    assert world.engine.called("stop_sentinel") == []


def test_shards_restart_in_ascending_number(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []

    def restart_shard(new: LoadedCluster, master: HostRecord, run_step: object = None) -> str:
        order.append(master.shard_name)
        return master.name

    monkeypatch.setattr(update, "restart_shard", restart_shard)
    plan = LoadedCluster.load(world.db, world.deps, "c1")
    host = plan.host("c1-h1")
    masters = {name: dataclasses.replace(host, shard_name=name) for name in ("s3", "s10", "s1", "s2")}
    assert update.restart_all(plan, masters) == dict.fromkeys(masters, "c1-h1")
    assert order == ["s1", "s2", "s3", "s10"]  # ascending by shard number (api.md §10.3)
