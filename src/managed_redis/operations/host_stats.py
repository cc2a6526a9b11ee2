"""What the supervisor keeps in memory for ``GET /metrics``: each host's last load, and
tallies of its own work.

The load of a host (``engine.stats.RedisStats``) is read on one look in
``metrics_period_s`` per host, spread over the passes (``StatsBook.due``), so a pass asks
a few hosts for it rather than all at once; a scrape reads the book (a dict copy) and
never touches a process. Nothing here is stored: a control plane that restarts, or one
that does not hold the supervisor's lease, has no loads to show until its first reads.

The tallies are ``prometheus_client`` metrics of their own, in no registry: the supervisor
counts its actions by kind and result and times its passes; ``GET /metrics`` collects them.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import Counter, Histogram, disable_created_metrics
from prometheus_client.metrics_core import Metric

from managed_redis.engine.facts import HostFacts
from managed_redis.engine.model import WatchedHost
from managed_redis.engine.stats import RedisStats

# No ``*_created`` series beside counters and histograms (a gauge of each one's creation time,
# which the Redis exporter's families do not have either): this process's only metrics are
# those of ``GET /metrics``.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds: a pass of the supervisor takes milliseconds when all is well, seconds when a look
# waits on a silent host.
PASS_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Sample:
    """A host's load and when it was read (seconds since the epoch)."""

    stats: RedisStats
    read_at_s: float


class StatsBook:
    """Host name -> its last load; thread-safe (the supervisor writes, scrapes read)."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._lock = threading.Lock()
        self._samples: dict[str, Sample] = {}
        # Hosts never read yet -> when ``due`` was first asked about them.
        self._waiting: dict[str, float] = {}
        # Moves on with every change of the loads kept: a page written from an equal version
        # shows the same loads.
        self.version = 0

    def due(self, name: str, now_s: float) -> bool:
        """Whether host ``name``'s load is to be read on this look: read ``period_s`` ago,
        or never read and its own delay (a share of the period, from a hash of its name)
        passed since it was first asked about: the hosts of a new or restarted control plane
        are spread over the period rather than all read in one pass, and keep that spread."""
        sample = self._samples.get(name)
        if sample is not None:
            return now_s - sample.read_at_s >= self.period_s
        first = self._waiting.setdefault(name, now_s)
        return now_s - first >= (zlib.crc32(name.encode()) % 1000) / 1000 * self.period_s

    def record(self, name: str, stats: RedisStats, now_s: float) -> None:
        with self._lock:
            self._samples[name] = Sample(stats, now_s)
            self.version += 1
        self._waiting.pop(name, None)

    def forget_all_but(self, names: Iterable[str]) -> None:
        """Drop the loads of hosts not in ``names`` (deleted hosts and clusters)."""
        kept = set(names)
        with self._lock:
            for gone in [name for name in self._samples if name not in kept]:
                del self._samples[gone]
                self.version += 1
        for gone in [name for name in self._waiting if name not in kept]:
            del self._waiting[gone]

    def snapshot(self) -> tuple[int, dict[str, Sample]]:
        """The version (``version``) and host name -> its last load, as of now (a copy the
        caller may keep)."""
        with self._lock:
            return self.version, dict(self._samples)


class SupervisorTally:
    """The supervisor's own metrics: actions carried out, by kind and result, and how long
    its passes take."""

    def __init__(self) -> None:
        self.actions = Counter(
            "mredis_supervisor_actions",
            "Actions the supervisor carried out on clusters, by kind and result (ok, failed)",
            ["kind", "result"],
            registry=None,
        )
        self.pass_seconds = Histogram(
            "mredis_supervisor_pass_duration_seconds",
            "How long one supervisor pass (observe, decide, start acting) took",
            buckets=PASS_BUCKETS_S,
            registry=None,
        )
        # Moves on after every count (a unique number each time, whatever the thread): equal
        # versions, the same samples.
        self._versions = itertools.count(1)
        self.version = 0

    def acted(self, kind: str, ok: bool) -> None:
        self.actions.labels(kind=kind, result="ok" if ok else "failed").inc()
        self.version = next(self._versions)

    def passed(self, seconds: float) -> None:
        self.pass_seconds.observe(seconds)
        self.version = next(self._versions)

    def collect(self) -> list[Metric]:
        return [*self.actions.collect(), *self.pass_seconds.collect()]


class SupervisorMetrics:
    """What ``GET /metrics`` reads from the supervisor: host loads and its tallies."""

    def __init__(self, period_s: float) -> None:
        self.stats = StatsBook(period_s)
        self.tally = SupervisorTally()


def with_stats_due(book: StatsBook, looks: list[WatchedHost], now_s: float) -> list[WatchedHost]:
    """``looks`` with the full looks at hosts whose load is due (``StatsBook.due``) asking
    for it too; pings are left as they are (a host is looked at in full every few passes)."""
    return [
        dataclasses.replace(w, with_stats=True) if not w.ping_only and book.due(w.name, now_s) else w for w in looks
    ]


def keep_stats(book: StatsBook, facts: Mapping[str, HostFacts], now_s: float) -> None:
    """Put the loads one observation read into ``book``."""
    for name, found in facts.items():
        if found.stats is not None:
            book.record(name, found.stats, now_s)
