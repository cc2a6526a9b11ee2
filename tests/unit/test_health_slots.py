"""A cluster's health while a slot is half-moved (DEGRADED until it has one owner) or a shard
has two hosts answering as its master."""

from __future__ import annotations

from managed_redis.operations.health import ClusterHealth, cluster_health
from tests.unit.test_decisions import NOW, TWO, H, Row, healthy, master, replica, two_shards, view_of


def health(**h1_changes: object) -> int:
    return cluster_health(view_of(Row("x", two_shards(**h1_changes), [], sharded=True, recorded=TWO)), NOW)


def test_agreed_slots_none_open_alive() -> None:
    assert health() == ClusterHealth.ALIVE


def test_a_slot_open_on_a_node_is_degraded() -> None:
    assert health(open_slots=(4321,)) == ClusterHealth.DEGRADED


def test_nodes_naming_different_owners_is_degraded() -> None:
    assert health(owners_digest="d2") == ClusterHealth.DEGRADED


def test_a_replaced_master_still_answering_as_master_is_degraded() -> None:
    """The Sentinels promoted h2 while no control plane ran; h1, resumed, still says master."""
    hosts = [H("h1", master(), names="h2"), H("h2", master(), names="h2"), H("h3", replica(of="h2"), names="h2")]
    assert cluster_health(view_of(Row("x", hosts, [], recorded={"shard1": "h2"})), NOW) == ClusterHealth.DEGRADED


def test_one_master_and_its_replicas_are_alive() -> None:
    assert cluster_health(view_of(Row("x", healthy(), [])), NOW) == ClusterHealth.ALIVE
