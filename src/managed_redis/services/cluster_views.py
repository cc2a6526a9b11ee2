"""Every cluster as last seen, kept between scrapes of ``GET /metrics``.

A cluster's record, hosts, shards and facts are read and parsed again only when its revision
moves (``clusters.revision``: every change of what reads show bumps it). The times of the
hosts' last looks, which the supervisor moves on every pass without a revision, matter to a
scrape only as one bit per host: is the look recent (``operations/health.py``'s
``STALE_AFTER_S``)? So a scrape reads not the times but the few hosts whose look is not
recent (none while a supervisor is looking), and a cluster's health, which then depends on
the facts alone, is worked out once per revision.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Sequence, Set
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.engine.facts import Role
from managed_redis.operations.health import cluster_health
from managed_redis.operations.views import ClusterView, HostView, cluster_view
from managed_redis.store import clusters as cluster_store
from managed_redis.store import host_facts, metrics_reads
from managed_redis.store.clusters import ClusterRecord

HEALTH_UNKNOWN = str(cluster_pb2.Cluster.Health.Name(cluster_pb2.Cluster.Health.HEALTH_UNKNOWN))
# Any instant: the health of a cluster whose every look is recent, worked out as of its looks.
_LOOKED_AT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

# A host's labels on /metrics: cluster_id, cluster_name, folder_id, shard, host, role.
HostLabels = tuple[str, str, str, str, str, str]


class KnownCluster:
    """One cluster as read at its revision: record, view, its hosts' labels, and its health."""

    def __init__(self, record: ClusterRecord, view: ClusterView) -> None:
        self.record = record
        self.view = view
        self.host_names = tuple(host.name for host in view.hosts)
        self.host_labels: tuple[HostLabels, ...] = tuple(
            (record.id, record.name, record.folder_id, host.shard, host.name, _role(host)) for host in view.hosts
        )
        # Whether each host's Redis answered its last look (facts change with the revision).
        self.answered = tuple(host.facts is not None and host.redis.answered for host in view.hosts)
        self._looked = tuple(host.facts is not None for host in view.hosts)
        # The health while every look is recent, worked out on first need.
        self._steady_health: str | None = None

    def fresh(self, stale: Set[str]) -> tuple[bool, ...]:
        """Per host (``view.hosts`` order): whether its last look is recent, given the hosts
        whose look is not (``Seen.stale``)."""
        if not stale:
            return self._looked
        return tuple(looked and name not in stale for looked, name in zip(self._looked, self.host_names, strict=True))

    def health(self, fresh: Sequence[bool]) -> str:
        """The cluster's health as the API names it (``ALIVE``, ``DEGRADED``, ...) given which
        hosts' looks are recent (``fresh``): ``HEALTH_UNKNOWN`` unless all are, as Get says."""
        if not all(fresh):
            return HEALTH_UNKNOWN
        if self._steady_health is None:
            recent = tuple(dataclasses.replace(host, checked_at=_LOOKED_AT) for host in self.view.hosts)
            view = dataclasses.replace(self.view, hosts=recent)
            self._steady_health = str(cluster_pb2.Cluster.Health.Name(cluster_health(view, _LOOKED_AT)))
        return self._steady_health


def _role(host: HostView) -> str:
    if host.redis.answered and host.redis.role is not None:
        return "master" if host.redis.role == Role.MASTER else "replica"
    return "unknown"


@dataclass(frozen=True)
class Seen:
    """What one scrape reads: every cluster (by id), the clusters bound to the caller with
    their roles, and the hosts whose last look is not recent (or not confirmed)."""

    clusters: list[KnownCluster]
    bound: dict[str, frozenset[str]]
    stale: frozenset[str]


class ClusterViews:
    """The clusters as last seen, kept per revision (see the module docstring). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, KnownCluster] = {}

    def current(self, conn: Connection, marks: metrics_reads.PageMarks) -> Seen:
        """Every cluster as ``marks`` say (their revisions, the hosts whose look is not recent,
        the caller's bindings), the clusters whose revision moved read again on ``conn``."""
        revisions = metrics_reads.parse_revisions(marks.revisions)
        with self._lock:
            moved = [cid for cid, rev in revisions.items() if cid not in self._kept or self._revision(cid) != rev]
            if moved:
                self._reread(conn, moved)
            for gone in set(self._kept) - set(revisions):
                del self._kept[gone]
            clusters = [self._kept[cid] for cid in revisions if cid in self._kept]
        return Seen(clusters, marks.bound(), marks.stale_hosts)

    def _revision(self, cluster_id: str) -> int:
        return self._kept[cluster_id].record.revision

    def _reread(self, conn: Connection, cluster_ids: list[str]) -> None:
        records = cluster_store.get_many(conn, cluster_ids)
        hosts = cluster_store.hosts_of(conn, cluster_ids)
        shards = cluster_store.shards_of(conn, cluster_ids)
        facts = host_facts.for_clusters(conn, cluster_ids)
        for record in records:
            view = cluster_view(record, hosts[record.id], shards[record.id], facts)
            self._kept[record.id] = KnownCluster(record, view)
