"""Topology rules: the order shards are gone through."""

from __future__ import annotations

from managed_redis.domain import topology


def test_shards_go_in_ascending_order_by_number() -> None:
    names = ["shard10", "shard2", "s1", "shard1", "b", "a-3", "a-12"]
    assert sorted(names, key=topology.shard_order) == ["a-3", "a-12", "b", "s1", "shard1", "shard2", "shard10"]
