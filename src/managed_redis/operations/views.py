"""A cluster as the control plane knows it at one moment: what it declares, and what was seen.

``ClusterView`` joins the stored records (hosts, shards, recorded masters, the operation
holding the cluster) with each host's last facts and their times. It is plain data: health
(``health.py``) and the supervisor's decisions (``decisions.py``) are pure functions of it,
so they can be tested as tables, and API reads build it from the store without touching
a process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from managed_redis.domain.topology import DEFAULT_REPLICA_PRIORITY
from managed_redis.engine.facts import HostFacts, ProcessState, RedisFacts, Role
from managed_redis.errors import NotFound
from managed_redis.statuses import HostState
from managed_redis.store.clusters import ClusterRecord, HostRecord, ShardRecord
from managed_redis.store.host_facts import FactsRow

# A cluster's persistence as its spec says it (cluster_pb2.Cluster.PersistenceMode names).
PERSISTENCE_ON = "ON"
PERSISTENCE_OFF = "OFF"
PERSISTENCE_ON_REPLICAS = "ON_REPLICAS"


@dataclass(frozen=True)
class HostView:
    name: str
    address: str
    shard: str
    zone: str
    # The declared replica priority (0: never promote).
    priority: int = DEFAULT_REPLICA_PRIORITY
    state: str = HostState.ACTIVE
    # The last look at the host; None if it was never looked at.
    facts: HostFacts | None = None
    checked_at: dt.datetime | None = None
    # When Redis on the host last answered; None if it never did.
    answered_at: dt.datetime | None = None

    @property
    def redis(self) -> RedisFacts:
        """The last facts of its Redis (a GONE placeholder when never looked at)."""
        return self.facts.redis if self.facts else RedisFacts(ProcessState.GONE)

    @property
    def is_master(self) -> bool:
        return self.redis.answered and self.redis.role == Role.MASTER

    def silent_s(self, now: dt.datetime) -> float:
        """Seconds since Redis on the host last answered (since ever: infinity)."""
        if self.answered_at is None:
            return float("inf")
        return max(0.0, (now - self.answered_at).total_seconds())


@dataclass(frozen=True)
class ClusterView:
    id: str
    name: str
    status: str
    sharded: bool
    persistence: str
    hosts: tuple[HostView, ...]
    # shard name -> the host last recorded as its master (None before the first record).
    recorded_masters: Mapping[str, str | None] = field(default_factory=dict)
    # The kind of the operation holding the cluster, if one does, and whether that operation
    # is orphaned (its worker's lease ran out: no control plane is carrying it on right now).
    busy_with: str | None = None
    busy_orphaned: bool = False
    # Hosts that were running but silent when the users changed: they hold old users in memory.
    users_pending: frozenset[str] = frozenset()

    @property
    def shards(self) -> list[str]:
        return list(self.recorded_masters) or sorted({host.shard for host in self.hosts})

    def active_host_zones(self) -> list[tuple[str, str]]:
        """(shard, zone) of each host in service (not being added or removed)."""
        return [(host.shard, host.zone) for host in self.hosts if host.state == HostState.ACTIVE]

    def shard_hosts(self, shard: str) -> list[HostView]:
        return [host for host in self.hosts if host.shard == shard]

    def host(self, name: str) -> HostView:
        for host in self.hosts:
            if host.name == name:
                return host
        raise NotFound(f"host {name} is not part of cluster {self.id}")

    def recorded_master(self, shard: str) -> HostView:
        members = self.shard_hosts(shard)
        recorded = self.recorded_masters.get(shard)
        return next((host for host in members if host.name == recorded), members[0])

    @property
    def looked_at(self) -> bool:
        """Whether every host has been looked at at least once."""
        return all(host.facts is not None for host in self.hosts)


def persistence_of(record: ClusterRecord) -> str:
    """The cluster's persistence mode name (ON when the spec does not say)."""
    mode = str(record.spec.get("cluster", {}).get("persistenceMode") or PERSISTENCE_ON)
    return mode if mode in (PERSISTENCE_ON, PERSISTENCE_OFF, PERSISTENCE_ON_REPLICAS) else PERSISTENCE_ON


def host_view(host: HostRecord, row: FactsRow | None, parsed: HostFacts | None = None) -> HostView:
    """``host`` with its last facts (``parsed`` if the caller already holds them as values)."""
    facts = parsed if parsed is not None else (HostFacts.from_json(row.facts) if row is not None else None)
    return HostView(
        name=host.name,
        address=host.address,
        shard=host.shard_name,
        zone=host.zone_id,
        priority=DEFAULT_REPLICA_PRIORITY if host.replica_priority is None else host.replica_priority,
        state=host.state,
        facts=facts,
        checked_at=row.checked_at if row is not None else None,
        answered_at=row.answered_at if row is not None else None,
    )


def cluster_view(
    record: ClusterRecord,
    hosts: Sequence[HostRecord],
    shards: Sequence[ShardRecord],
    facts: Mapping[str, FactsRow],
    busy_with: str | None = None,
    busy_orphaned: bool = False,
    parsed: Mapping[str, HostFacts] | None = None,
    users_pending: frozenset[str] = frozenset(),
) -> ClusterView:
    return ClusterView(
        id=record.id,
        name=record.name,
        status=record.status,
        sharded=record.sharded,
        persistence=persistence_of(record),
        hosts=tuple(host_view(host, facts.get(host.name), (parsed or {}).get(host.name)) for host in hosts),
        recorded_masters={shard.name: shard.master_host for shard in shards},
        busy_with=busy_with,
        busy_orphaned=busy_orphaned,
        users_pending=users_pending,
    )
