"""Topology rules: zones, host counts, shard names, disk types (api.md §7)."""

from __future__ import annotations

import re

from managed_redis.catalog.presets import ZONES

MAX_HOSTS_NON_SHARDED = 7
MAX_HOSTS_PER_SHARD = 7
MAX_SHARDS = 10
MAX_HOSTS_SHARDED = 70
DISK_TYPES = frozenset({"network-ssd", "network-hdd", "local-ssd", "network-ssd-nonreplicated", "network-ssd-io-m3"})
# The one shard of a non-sharded cluster; EnableSharding keeps this name (api.md §5).
DEFAULT_SHARD = "shard1"
DEFAULT_REPLICA_PRIORITY = 100


def shard_order(name: str) -> tuple[str | int, ...]:
    """Sort key of a shard name putting ``shard2`` before ``shard10``: maintenance and rolling
    restarts go "shard by shard in ascending order by shard number" (api.md §10.3). The key
    alternates text and numbers from its start, so any two names compare."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def known_zone(zone_id: str) -> bool:
    return zone_id in ZONES


def zones_text() -> str:
    return ", ".join(ZONES)
