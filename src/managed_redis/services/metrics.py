"""``GET /metrics``: what a caller may see, in Prometheus' text format (0.0.4).

A caller sees the Redis hosts and the health of the clusters it may read (READ in their
folder, or a role bound on the cluster), and the operations of the folders it may read.
The supervisor's own tallies (actions, pass times) concern every cluster at once: only a
caller who may read every folder (the admin, or a role on the folder ``*``) sees them.

Everything comes from what is already known: the store (clusters, hosts, the last look at
each host, operations) and the supervisor's memory (each host's last load,
``operations/host_stats.py``). A scrape touches no Redis process, and reads and writes
little:

- it reads one row first (``metrics_reads.page_marks``: the clusters' revisions, the hosts
  whose last look is not recent, how many operations there are and are done, the caller's
  bindings) and the versions of the supervisor's loads and tallies; when they are those the
  caller's page was last written from (and no load shown has aged out), that page is
  answered as it is, one page kept per subject (``PAGES_KEPT``);
- otherwise the page is written again from what moved since that one: each cluster's
  hosts and facts are read and parsed once per revision (``cluster_views.py``), the state
  of a cluster none of whose hosts' loads was read anew is taken as it was, and the
  operations' counts are read again only when the number of operations, or of those done,
  moved;
- the per-host series and the clusters' health (~16,000 lines for 200 clusters) are
  written by ``host_families.host_text`` and ``metric_families.cluster_health_lines``, and
  kept per host, per cluster and for the page while what they show stays the same
  (``cluster_blocks.py``): a page written again writes the lines of the hosts whose load
  was read anew since the last one;
- the operations' and the supervisor's families (a few dozen lines) are written by
  ``prometheus_client``.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric
from sqlalchemy.engine import Connection

from managed_redis.clock import Clock
from managed_redis.operations.health import STALE_AFTER_S
from managed_redis.operations.host_stats import Sample, SupervisorMetrics
from managed_redis.services.access import ALL_FOLDERS, Permission, Principal
from managed_redis.services.cluster_blocks import ClusterBlocks, ClusterState
from managed_redis.services.cluster_views import ClusterViews, KnownCluster, Seen
from managed_redis.services.metric_families import operation_families
from managed_redis.services.operation_tally import OperationCounts, OperationTally
from managed_redis.store import metrics_reads
from managed_redis.store.database import Database
from managed_redis.store.metrics_reads import PageMarks

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# A load read this many periods ago is still shown (a pass or two may skip a host).
STATS_KEPT_PERIODS = 3
# Pages kept, one per subject (the every-cluster page of admins counting as one).
PAGES_KEPT = 8


class _Families:
    """A collector for one scrape: the families already built."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


@dataclass(frozen=True)
class _PageKey:
    """What a page was written from: equal keys, the same page."""

    marks: PageMarks
    principal: Principal
    loads: int
    tallies: int


@dataclass(frozen=True)
class _Page:
    key: _PageKey
    body: bytes
    # Seconds since the epoch: when the oldest load shown ages out (STATS_KEPT_PERIODS).
    until_s: float
    # What it was written from: the clusters shown and their states, the loads, the operations.
    clusters: list[KnownCluster]
    states: list[ClusterState]
    samples: dict[str, Sample]
    counts: OperationCounts


class MetricsService:
    def __init__(self, db: Database, supervisor: SupervisorMetrics, clock: Clock) -> None:
        self.db = db
        self.supervisor = supervisor
        self.clock = clock
        self.views = ClusterViews()
        self.blocks = ClusterBlocks()
        self.operations = OperationTally(db)
        self._lock = threading.Lock()
        # Subject (None: every cluster's page) -> the last page written for it.
        self._pages: dict[str | None, _Page] = {}

    def exposition(self, principal: Principal) -> bytes:
        """Every series ``principal`` may see, in Prometheus' text format (``CONTENT_TYPE``).
        Reads one row of the store when nothing changed since the page was last written for
        the same subject (the page kept is answered), a few more otherwise (milliseconds)."""
        subject = None if principal.admin_everywhere else principal.subject_id
        stale_before = self.clock.now() - dt.timedelta(seconds=STALE_AFTER_S)
        # One transaction for every read (each statement is a wait for the GIL again).
        with self.db.read() as conn:
            marks = metrics_reads.page_marks(conn, stale_before, subject)
            key = _PageKey(marks, principal, self.supervisor.stats.version, self._tallies_version(principal))
            kept = self._pages.get(subject)
            if kept is not None and kept.key == key and time.time() < kept.until_s:
                return kept.body
            with self._lock:
                page = self._write(conn, key, self._pages.get(subject))
                if len(self._pages) >= PAGES_KEPT and subject not in self._pages:
                    del self._pages[next(iter(self._pages))]
                self._pages[subject] = page
        return page.body

    def _tallies_version(self, principal: Principal) -> int:
        return self.supervisor.tally.version if principal.can(ALL_FOLDERS, Permission.READ) else 0

    def _write(self, conn: Connection, key: _PageKey, kept: _Page | None) -> _Page:
        """The page for ``key`` as of now, the clusters read again on ``conn`` where their
        revision moved (the version of the loads read may be newer than the key's: the next
        scrape then writes the page again). What did not move since ``kept`` (the subject's
        last page) is taken from it: each cluster's state but where a host's load was read
        anew, the operations' counts while as many are there and done."""
        principal = key.principal
        seen = self.views.current(conn, key.marks)
        marks = key.marks
        operations = (marks.operations, marks.done, principal)
        if kept is not None and (kept.key.marks.operations, kept.key.marks.done, kept.key.principal) == operations:
            counts = kept.counts
        else:
            counts = self.operations.counts(lambda folder: principal.can(folder, Permission.READ), conn)
        _, samples = self.supervisor.stats.snapshot()
        # Read times are the supervisor's wall clock (time.time), not the API's Clock.
        kept_s = self.supervisor.stats.period_s * STATS_KEPT_PERIODS + 10.0
        now_s = time.time()
        clusters = _readable(principal, seen)
        prior = _prior_states(kept, marks, samples, now_s)
        states = []
        for cluster in clusters:
            state = prior.get(cluster)
            states.append(state if state is not None else _state(cluster, seen.stale, samples, now_s - kept_s))
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Families(self._control_plane(principal, counts)))
        body = self.blocks.text(states, {c.record.id for c in seen.clusters}, generate_latest(registry))
        shown = (
            samples[host[4]].read_at_s for c in states for host, load in zip(c.hosts, c.stats, strict=True) if load
        )
        return _Page(key, body, min(shown, default=math.inf) + kept_s, clusters, states, samples, counts)

    def _control_plane(self, principal: Principal, counts: OperationCounts) -> list[Metric]:
        families = operation_families(counts.finished, counts.durations, counts.running)
        if principal.can(ALL_FOLDERS, Permission.READ):
            families.extend(self.supervisor.tally.collect())
        return families


def _readable(principal: Principal, seen: Seen) -> list[KnownCluster]:
    """The clusters of ``seen`` that ``principal`` may read (READ in the folder, or a role
    bound on the cluster)."""
    if principal.admin_everywhere:
        return seen.clusters
    by_folder: dict[str, bool] = {}
    found = []
    for cluster in seen.clusters:
        record = cluster.record
        roles = seen.bound.get(record.id)
        if roles is not None:
            readable = principal.can(record.folder_id, Permission.READ, roles)
        else:
            if record.folder_id not in by_folder:
                by_folder[record.folder_id] = principal.can(record.folder_id, Permission.READ)
            readable = by_folder[record.folder_id]
        if readable:
            found.append(cluster)
    return found


def _prior_states(
    kept: _Page | None, marks: PageMarks, samples: dict[str, Sample], now_s: float
) -> dict[KnownCluster, ClusterState]:
    """The states of ``kept`` still true now, by cluster (as read at its revision): none
    when the hosts whose look is not recent changed or a load shown aged out; otherwise
    those of the clusters none of whose hosts' loads was read anew (or forgotten)."""
    if kept is None or kept.key.marks.stale != marks.stale or now_s >= kept.until_s:
        return {}
    before = kept.samples
    moved = {name for name, sample in samples.items() if before.get(name) is not sample}
    moved.update(name for name in before if name not in samples)
    return {
        cluster: state
        for cluster, state in zip(kept.clusters, kept.states, strict=True)
        if moved.isdisjoint(cluster.host_names)
    }


def _state(cluster: KnownCluster, stale: frozenset[str], samples: dict[str, Sample], oldest_s: float) -> ClusterState:
    """What the cluster's lines show now: a host is up when its Redis answered its last
    look and that look is recent; its load is shown while read within ``oldest_s``."""
    fresh = cluster.fresh(stale)
    loads = []
    for name in cluster.host_names:
        sample = samples.get(name)
        loads.append(sample.stats if sample is not None and sample.read_at_s >= oldest_s else None)
    up = tuple(answered and recent for answered, recent in zip(cluster.answered, fresh, strict=True))
    record = cluster.record
    labels = (record.id, record.name, record.folder_id)
    return ClusterState(cluster.host_labels, up, tuple(loads), cluster.health(fresh), record.id, labels)
