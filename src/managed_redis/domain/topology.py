"""Topology rules: zones, host counts, shard names, disk types (api.md §7)."""

from __future__ import annotations

from managed_redis.catalog.presets import ZONES

MAX_HOSTS_NON_SHARDED = 7
MAX_HOSTS_PER_SHARD = 7
MAX_SHARDS = 10
MAX_HOSTS_SHARDED = 70
DISK_TYPES = frozenset({"network-ssd", "network-hdd", "local-ssd", "network-ssd-nonreplicated", "network-ssd-io-m3"})
# The one shard of a non-sharded cluster; EnableSharding keeps this name (api.md §5).
DEFAULT_SHARD = "shard1"
DEFAULT_REPLICA_PRIORITY = 100


def known_zone(zone_id: str) -> bool:
    return zone_id in ZONES


def zones_text() -> str:
    return ", ".join(ZONES)
