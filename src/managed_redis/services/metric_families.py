"""The control plane's own families of ``GET /metrics``: pure functions, no store, no process.

``mredis_cluster_health``, ``mredis_operations_total``, ``mredis_operation_duration_seconds``
and ``mredis_operations_running`` are built here; the supervisor's tallies are in
``operations/host_stats.py``, the per-Redis-host families in ``host_families.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from managed_redis.services.host_families import label_text

CLUSTER_LABELS = ("cluster_id", "cluster_name", "folder_id")
HEALTHS = ("ALIVE", "DEGRADED", "DEAD", "HEALTH_UNKNOWN")
# Seconds: an operation takes from a second (a user's change) to an hour (a big restore).
OPERATION_BUCKETS_S = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


HEALTH_HEADER = (
    "# HELP mredis_cluster_health The cluster's health as the API shows it\n# TYPE mredis_cluster_health gauge\n"
)


@functools.lru_cache(maxsize=4096)
def cluster_health_lines(labels: tuple[str, str, str], health: str) -> str:
    """One cluster's ``mredis_cluster_health{cluster_id, cluster_name, folder_id, health}``
    lines in Prometheus' text format: 1 for its health (``HEALTHS``, as the API's
    Cluster.health names it), 0 for the others. ``labels`` in ``CLUSTER_LABELS`` order."""
    prefix = "mredis_cluster_health{" + label_text(CLUSTER_LABELS, labels) + ',health="'
    return "".join(f'{prefix}{name}"}} {1.0 if name == health else 0.0}\n' for name in HEALTHS)


def cluster_health_text(clusters: Iterable[tuple[tuple[str, str, str], str]]) -> str:
    """The ``mredis_cluster_health`` family (``HEALTH_HEADER`` and ``cluster_health_lines``)
    of ``clusters``: (label values in ``CLUSTER_LABELS`` order, health name) each."""
    return HEALTH_HEADER + "".join(cluster_health_lines(labels, health) for labels, health in clusters)


@dataclass
class Durations:
    """A histogram's counts per bucket of ``OPERATION_BUCKETS_S`` (not cumulative; the last
    one past every bound) and the sum of the values, in seconds."""

    counts: list[int]
    sum_s: float = 0.0

    @classmethod
    def empty(cls) -> Durations:
        return cls([0] * (len(OPERATION_BUCKETS_S) + 1))

    def add(self, seconds: float) -> None:
        index = next((i for i, bound in enumerate(OPERATION_BUCKETS_S) if seconds <= bound), len(OPERATION_BUCKETS_S))
        self.counts[index] += 1
        self.sum_s += seconds

    def merge(self, other: Durations) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.sum_s += other.sum_s


def operation_families(
    finished: Mapping[tuple[str, str], int], durations: Mapping[str, Durations], running: Mapping[str, int]
) -> list[Metric]:
    """``mredis_operations_total{type, result}`` (``finished``: (kind, ok|error) -> count),
    ``mredis_operation_duration_seconds{type}`` (creation to end, of finished ones) and
    ``mredis_operations_running{type}``."""
    total = CounterMetricFamily(
        "mredis_operations_total", "Operations finished, by type and result (ok, error)", labels=("type", "result")
    )
    for (kind, result), count in sorted(finished.items()):
        total.add_metric((kind, result), count)
    histogram = HistogramMetricFamily(
        "mredis_operation_duration_seconds", "Seconds from an operation's creation to its end", labels=("type",)
    )
    for kind, found in sorted(durations.items()):
        cumulative, buckets = 0, []
        for bound, count in zip((*OPERATION_BUCKETS_S, float("inf")), found.counts, strict=True):
            cumulative += count
            buckets.append((_le(bound), float(cumulative)))
        histogram.add_metric((kind,), buckets, found.sum_s)
    now = GaugeMetricFamily("mredis_operations_running", "Operations not done yet, by type", labels=("type",))
    for kind, count in sorted(running.items()):
        now.add_metric((kind,), count)
    return [total, histogram, now]


def _le(bound: float) -> str:
    """A bucket's bound as Prometheus writes it (``+Inf``, ``2.5``, ``10.0``)."""
    return "+Inf" if bound == float("inf") else repr(float(bound))
