"""A sharded cluster's health while a slot is half-moved: DEGRADED until it has one owner."""

from __future__ import annotations

from managed_redis.operations.health import ClusterHealth, cluster_health
from tests.unit.test_decisions import NOW, TWO, Row, two_shards, view_of


def health(**h1_changes: object) -> int:
    return cluster_health(view_of(Row("x", two_shards(**h1_changes), [], sharded=True, recorded=TWO)), NOW)


def test_agreed_slots_none_open_alive() -> None:
    assert health() == ClusterHealth.ALIVE


def test_a_slot_open_on_a_node_is_degraded() -> None:
    assert health(open_slots=(4321,)) == ClusterHealth.DEGRADED


def test_nodes_naming_different_owners_is_degraded() -> None:
    assert health(owners_digest="d2") == ClusterHealth.DEGRADED
