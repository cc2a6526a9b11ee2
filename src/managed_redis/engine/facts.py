"""What one look at a host found: its processes, what Redis and Sentinel said, and when.

These are plain values the engine returns from ``observe`` and the store keeps as JSON, so
that readers (the API's health, the supervisor's decisions) use what was seen without
touching a process. Nothing here decides anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from managed_redis.engine.slot_states import open_slots, owners_digest

if TYPE_CHECKING:
    from managed_redis.engine.stats import RedisStats


class ProcessState(StrEnum):
    RUNNING = "running"
    # Alive but stopped by a signal (SIGSTOP, a debugger): it answers nothing until resumed.
    STOPPED = "stopped"
    GONE = "gone"


class Role(StrEnum):
    MASTER = "master"
    REPLICA = "replica"


@dataclass(frozen=True)
class RedisFacts:
    """A redis-server as seen at one moment. Fields after ``error`` are known only if it answered."""

    process: ProcessState
    answered: bool = False
    # Why it did not answer (timed out, refused, ...); empty when it did.
    error: str = ""
    # Whether its directory and config file are where they belong (a restart needs them).
    files_present: bool = True
    role: Role | None = None
    # A replica: the master address it follows, whether its link is up, and how many seconds
    # ago it last heard from that master (-1 when the link is down).
    master_address: str | None = None
    link_up: bool | None = None
    master_last_io_s: int | None = None
    # A replica whose link is down: how many seconds ago it went down (-1: it has not been up
    # since the process started), and whether a full sync is under way (its dataset is the
    # old one, or half-loaded).
    link_down_s: int | None = None
    syncing: bool = False
    # Its replication offset (a master's own, a replica's processed one).
    offset: int | None = None
    # Its replication history's id, and the id of the history it continued when it was
    # promoted (a master's replid2 is its old master's replid): who replaced whom.
    replid: str | None = None
    replid2: str | None = None
    replica_priority: int | None = None
    # A master: the replicas streaming from it, by address, with how many seconds ago each
    # last acknowledged (what the master hears of them).
    replica_lags: dict[str, int] = field(default_factory=dict)
    # How many replicas must acknowledge for it to take a write (min-replicas-to-write).
    min_replicas: int | None = None
    loading: bool = False
    aof_enabled: bool | None = None
    # Redis Cluster: "ok" or "fail" as this node sees the cluster, and the slots it sees served.
    cluster_state: str | None = None
    cluster_slots_ok: int | None = None
    # Redis Cluster: the slots this node has MIGRATING or IMPORTING (a move under way, or
    # left half-done), a digest of who owns which slot as it sees it (equal on nodes that
    # agree), and its live cluster-node-timeout (raised while a big key moves).
    open_slots: tuple[int, ...] = ()
    owners_digest: str | None = None
    node_timeout_ms: int | None = None

    @property
    def alive(self) -> bool:
        return self.process != ProcessState.GONE

    @property
    def serving(self) -> bool:
        """Answering, done loading, and (cluster mode) part of a cluster that serves."""
        return self.answered and not self.loading and self.cluster_state in (None, "ok")

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RedisFacts:
        """The look ``to_json`` stored (fields it does not know are skipped). Raises ValueError for
        a process state or role the enums do not know."""
        values = _known(cls, data)
        values["process"] = ProcessState(values.get("process", ProcessState.GONE))
        if values.get("role") is not None:
            values["role"] = Role(values["role"])
        values["replica_lags"] = dict(values.get("replica_lags", {}))
        values["open_slots"] = tuple(values.get("open_slots", ()))
        return cls(**values)


@dataclass(frozen=True)
class SentinelFacts:
    """A redis-sentinel as seen at one moment: alive, and which master it names."""

    process: ProcessState
    answered: bool = False
    error: str = ""
    master_address: str | None = None
    # Whether its config file is there (it rewrites it to remember epochs and masters).
    files_present: bool = True

    @property
    def alive(self) -> bool:
        return self.process != ProcessState.GONE

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SentinelFacts:
        """The look ``to_json`` stored (fields it does not know are skipped). Raises ValueError for
        a process state the enum does not know."""
        values = _known(cls, data)
        values["process"] = ProcessState(values.get("process", ProcessState.GONE))
        return cls(**values)


@dataclass(frozen=True)
class HostFacts:
    """Everything one look at a host found; ``sentinel`` is None where no Sentinel runs."""

    redis: RedisFacts
    sentinel: SentinelFacts | None = None
    # The host's load, on the looks that asked for it (``WatchedHost.with_stats``): kept in
    # memory for ``GET /metrics``, never stored, never compared.
    stats: RedisStats | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"redis": self.redis.to_json(), "sentinel": self.sentinel.to_json() if self.sentinel else None}

    @staticmethod
    def same(stored: dict[str, Any], fresh: dict[str, Any]) -> bool:
        """Whether two looks (as JSON) found the same, counters that move every second
        (offsets, seconds since the last contact, lags) aside: only a change is written."""
        return _steady(stored) == _steady(fresh)

    def same_as(self, other: HostFacts) -> bool:
        """``same`` for two looks held as values (no JSON made): equal but for the counters."""
        if self is other:
            return True
        return self.sentinel == other.sentinel and _steady_key(self.redis) == _steady_key(other.redis)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostFacts:
        """The look ``to_json`` stored. Raises KeyError without its ``redis`` entry, ValueError as
        ``RedisFacts.from_json`` does."""
        sentinel = data.get("sentinel")
        return cls(RedisFacts.from_json(data["redis"]), SentinelFacts.from_json(sentinel) if sentinel else None)


# Facts that move all the time on a healthy host: kept in what was seen, not in what decides
# whether the stored row changed.
_COUNTERS = frozenset({"offset", "master_last_io_s"})


def _steady(data: dict[str, Any]) -> dict[str, Any]:
    redis = {k: v for k, v in (data.get("redis") or {}).items() if k not in _COUNTERS}
    if "replica_lags" in redis:
        redis["replica_lags"] = sorted(redis["replica_lags"])  # who streams, not how far behind
    return {"redis": redis, "sentinel": data.get("sentinel")}


_STEADY_FIELDS = tuple(f.name for f in dataclasses.fields(RedisFacts) if f.name not in _COUNTERS | {"replica_lags"})


def _steady_key(redis: RedisFacts) -> tuple[object, ...]:
    return (*(getattr(redis, name) for name in _STEADY_FIELDS), tuple(sorted(redis.replica_lags)))


_DEFAULTS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _defaults(cls: type) -> tuple[tuple[str, Any], ...]:
    """(field name, default) of a facts class, worked out once per class."""
    found = _DEFAULTS.get(cls)
    if found is None:
        found = _DEFAULTS[cls] = tuple((f.name, _default(f)) for f in dataclasses.fields(cls))
    return found


def _default(field_: dataclasses.Field[Any]) -> Any:
    if field_.default is not dataclasses.MISSING:
        return field_.default
    if field_.default_factory is not dataclasses.MISSING:
        return field_.default_factory()
    return None


def _to_json(value: Any) -> dict[str, Any]:
    data = {}
    for name, default in _defaults(type(value)):
        item = getattr(value, name)
        if item != default or name == "process":
            data[name] = list(item) if isinstance(item, tuple) else item
    return data


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {name for name, _ in _defaults(cls)}
    return {key: value for key, value in data.items() if key in names}


def parse_info(text: str) -> dict[str, str]:
    """``INFO`` text as key -> value (section headers and blank lines skipped)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            fields[key] = value.strip()
    return fields


def info_value(text: str, key: str) -> str | None:
    """One field of ``INFO`` text, found without splitting the rest (a look parses hundreds)."""
    at = text.find("\n" + key + ":")
    if at < 0:
        if not text.startswith(key + ":"):
            return None
        at = -1
    start = at + len(key) + 2
    end = text.find("\r", start)
    return text[start : end if end >= 0 else len(text)].strip()


def _replica_lags(info: str) -> dict[str, int]:
    """ip -> lag of each replica line (``slaveN:ip=..,state=online,..,lag=N``) streaming."""
    lags = {}
    at = info.find("\nslave0:")
    while at >= 0:
        end = info.find("\r", at + 1)
        line = info[at + 1 : end if end >= 0 else len(info)]
        key, _, value = line.partition(":")
        if not key[5:].isdigit():
            break
        parts = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
        if parts.get("state") == "online":
            lags[parts.get("ip", "")] = _int(parts.get("lag")) or 0
        at = info.find("\nslave", at + 1)
    return lags


def redis_facts(
    process: ProcessState,
    files_present: bool,
    info: str,
    cluster_info: str | None,
    min_replicas: int | None = None,
    cluster_nodes: str | None = None,
    node_timeout_ms: int | None = None,
) -> RedisFacts:
    """Facts from ``INFO replication persistence`` (and ``CLUSTER INFO``, the configured
    ``min-replicas-to-write``, ``CLUSTER NODES`` and ``cluster-node-timeout``) of an
    answering node."""
    replica = info_value(info, "role") != "master"
    aof_enabled = info_value(info, "aof_enabled")
    return RedisFacts(
        process=process,
        answered=True,
        files_present=files_present,
        role=Role.REPLICA if replica else Role.MASTER,
        master_address=info_value(info, "master_host") if replica else None,
        link_up=info_value(info, "master_link_status") == "up" if replica else None,
        master_last_io_s=_int(info_value(info, "master_last_io_seconds_ago")) if replica else None,
        link_down_s=_int(info_value(info, "master_link_down_since_seconds")) if replica else None,
        syncing=replica and info_value(info, "master_sync_in_progress") == "1",
        offset=_int(info_value(info, "slave_repl_offset" if replica else "master_repl_offset")),
        replid=info_value(info, "master_replid"),
        replid2=info_value(info, "master_replid2"),
        replica_priority=_int(info_value(info, "slave_priority")),
        replica_lags={} if replica else _replica_lags(info),
        min_replicas=min_replicas,
        loading=info_value(info, "loading") == "1",
        aof_enabled=aof_enabled == "1" if aof_enabled is not None else None,
        cluster_state=info_value(cluster_info, "cluster_state") if cluster_info is not None else None,
        cluster_slots_ok=_int(info_value(cluster_info, "cluster_slots_ok")) if cluster_info is not None else None,
        open_slots=open_slots(cluster_nodes) if cluster_nodes else (),
        owners_digest=owners_digest(cluster_nodes) if cluster_nodes else None,
        node_timeout_ms=node_timeout_ms,
    )


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
