"""A host's load as one ``INFO`` read found it: the numbers ``GET /metrics`` shows.

The supervisor asks for these only every ``metrics_period_s`` per host (``STATS_INFO``, in
place of its usual ``INFO replication persistence``); they are plain values kept in memory
(``operations/host_stats.py``), never stored, never part of what decides anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from managed_redis.engine.facts import info_value

# The INFO sections a stats look asks for: what a usual look asks (replication, persistence)
# and the load (server, clients, memory, stats, keyspace), in one command.
STATS_INFO: tuple[str, ...] = ("INFO", "server", "clients", "memory", "stats", "replication", "persistence", "keyspace")

# INFO field -> RedisStats attribute, for the plain numbers.
_NUMBERS = {
    "uptime_in_seconds": "uptime_s",
    "connected_clients": "connected_clients",
    "blocked_clients": "blocked_clients",
    "used_memory": "used_memory_bytes",
    "used_memory_rss": "used_memory_rss_bytes",
    "maxmemory": "maxmemory_bytes",
    "total_connections_received": "connections_received",
    "total_commands_processed": "commands_processed",
    "total_net_input_bytes": "net_input_bytes",
    "total_net_output_bytes": "net_output_bytes",
    "keyspace_hits": "keyspace_hits",
    "keyspace_misses": "keyspace_misses",
    "evicted_keys": "evicted_keys",
    "expired_keys": "expired_keys",
    "rejected_connections": "rejected_connections",
    "connected_slaves": "connected_slaves",
    "master_repl_offset": "master_repl_offset",
    "slave_repl_offset": "slave_repl_offset",
    "master_last_io_seconds_ago": "master_last_io_s",
}


@dataclass(frozen=True)
class ReplicaLink:
    """One ``slaveN:`` line of a master's INFO: a replica streaming from it."""

    ip: str
    port: str
    state: str
    offset_bytes: float
    # Seconds since the replica last acknowledged; None where Redis does not say.
    lag_s: float | None


@dataclass(frozen=True)
class DbKeys:
    """One ``dbN:`` line of ``INFO keyspace``."""

    keys: float
    expiring: float
    avg_ttl_s: float | None = None


@dataclass(frozen=True)
class RedisStats:
    """The load of one redis-server. A number INFO did not carry is None (older servers)."""

    version: str = ""
    uptime_s: float | None = None
    connected_clients: float | None = None
    blocked_clients: float | None = None
    used_memory_bytes: float | None = None
    used_memory_rss_bytes: float | None = None
    maxmemory_bytes: float | None = None
    connections_received: float | None = None
    commands_processed: float | None = None
    net_input_bytes: float | None = None
    net_output_bytes: float | None = None
    keyspace_hits: float | None = None
    keyspace_misses: float | None = None
    evicted_keys: float | None = None
    expired_keys: float | None = None
    rejected_connections: float | None = None
    connected_slaves: float | None = None
    master_repl_offset: float | None = None
    # A replica: the offset it processed, its master and whether its link is up.
    slave_repl_offset: float | None = None
    master_host: str = ""
    master_port: str = ""
    master_link_up: bool | None = None
    master_last_io_s: float | None = None
    replicas: tuple[ReplicaLink, ...] = ()
    # "db0" -> its keys.
    databases: dict[str, DbKeys] = field(default_factory=dict)


def redis_stats(info: str) -> RedisStats:
    """The load an ``INFO`` text (``STATS_INFO``) tells; fields it lacks stay None. Never raises.
    Reads only the fields it shows (``info_value``): the supervisor reads hundreds a minute."""
    numbers = {attr: _number(info_value(info, key)) for key, attr in _NUMBERS.items()}
    link = info_value(info, "master_link_status")
    return RedisStats(
        version=info_value(info, "valkey_version") or info_value(info, "redis_version") or "",
        master_host=info_value(info, "master_host") or "",
        master_port=info_value(info, "master_port") or "",
        master_link_up=None if link is None else link == "up",
        replicas=tuple(r for key, value in _numbered(info, "slave") if (r := _replica(key, value)) is not None),
        databases={key: d for key, value in _numbered(info, "db") if (d := _db(key, value)) is not None},
        **numbers,
    )


def _numbered(info: str, prefix: str) -> Iterator[tuple[str, str]]:
    """(key, value) of each line whose key is ``prefix`` and a number (``slave0``, ``db3``)."""
    at = info.find("\n" + prefix)
    while at >= 0:
        end = info.find("\n", at + 1)
        line = info[at + 1 : end if end >= 0 else len(info)].rstrip("\r")
        key, sep, value = line.partition(":")
        if sep and key[len(prefix) :].isdigit():
            yield key, value
        at = info.find("\n" + prefix, at + 1)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _pairs(value: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in value.split(",") if "=" in part)


def _replica(key: str, value: str) -> ReplicaLink | None:
    """``slave0:ip=..,port=..,state=online,offset=..,lag=..`` as a ReplicaLink; None otherwise."""
    if not (key.startswith("slave") and key[5:].isdigit()):
        return None
    parts = _pairs(value)
    offset = _number(parts.get("offset"))
    if offset is None:
        return None
    return ReplicaLink(
        parts.get("ip", ""), parts.get("port", ""), parts.get("state", ""), offset, _number(parts.get("lag"))
    )


def _db(key: str, value: str) -> DbKeys | None:
    """``db0:keys=..,expires=..,avg_ttl=..`` as DbKeys; None for any other line."""
    if not (key.startswith("db") and key[2:].isdigit()):
        return None
    parts = _pairs(value)
    keys, expiring = _number(parts.get("keys")), _number(parts.get("expires"))
    if keys is None or expiring is None:
        return None
    ttl_ms = _number(parts.get("avg_ttl"))
    return DbKeys(keys, expiring, ttl_ms / 1000 if ttl_ms is not None else None)
