"""``GET /metrics`` at scale: how long a scrape takes with every host's series, beside a floor.

200 clusters of 3 hosts by default (``BENCH_CLUSTERS`` changes it), each host's load read
at the default cadence (``metrics_period_s``). Once every host's load is in, ``SCRAPES``
scrapes one after another (as Prometheus does, one at a time), their p50/p99 beside the
same count of GETs of the server's cheapest route (endpoint discovery: no token, no store),
the page's size, and the control plane's idle CPU with the loads being read (no request
for ``IDLE_S``), the figure ``bench/supervision.py`` keeps under 5 % of a core.

Runs on a network of its own (127.26.0.0/16), apart from the other benchmarks and the tests.
First, the same page on a synthetic store of as many clusters, no process started
(``bench/metrics_store.py``, ``python -m bench metrics-store`` alone): its figures are
labelled SYNTHETIC; the real run's are the ones that count.
"""

from __future__ import annotations

import statistics
import time
from contextlib import suppress

from prometheus_client.parser import text_string_to_metric_families

from bench import metrics_store
from bench.common import bench_server, figure
from bench.supervision import CLUSTERS, create_many, idle_cpu_percent
from tests.support.server import RunningServer, wait_until

METRICS_NETWORK = "127.26.0.0/16"
SCRAPES = 200
IDLE_S = 30


def latencies_ms(url: str, token: str | None) -> list[float]:
    """SCRAPES GETs of ``url`` one after another on one connection, each in ms."""
    return metrics_store.scrape_ms(url, token, SCRAPES)


def show(name: str, spent: list[float], target: str = "") -> None:
    ordered = sorted(spent)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    figure(name, f"p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms (n={len(ordered)})", target)


def loaded_hosts(server: RunningServer) -> int:
    """How many hosts the page shows a load for (their redis_memory_used_bytes series)."""
    text = server.rest("GET", "/metrics").text
    for family in text_string_to_metric_families(text):
        if family.name == "redis_memory_used_bytes":
            return len(family.samples)
    return 0


def main() -> None:
    metrics_store.synthetic(CLUSTERS)
    with bench_server(METRICS_NETWORK) as server:
        print(f"metrics: {CLUSTERS} clusters of 3 hosts", flush=True)
        started = time.monotonic()
        create_many(server, CLUSTERS)
        figure(f"created {CLUSTERS} clusters in", f"{time.monotonic() - started:.0f} s")
        # Every host's load is read once per metrics period, spread over the supervisor's
        # passes; on a saturated machine the passes are slow, so this may take minutes.
        with suppress(AssertionError):
            wait_until(lambda: loaded_hosts(server) == 3 * CLUSTERS, timeout_s=600, interval_s=2)
        figure("hosts whose load was read", f"{loaded_hosts(server)} of {3 * CLUSTERS}")
        page = server.rest("GET", "/metrics").text
        series = sum(1 for line in page.splitlines() if line and not line.startswith("#"))
        figure("the page", f"{len(page) / 1024:.0f} KiB, {series} series")
        show("floor: endpoint discovery (no token, no store)", latencies_ms(f"{server.rest_url}/endpoints", None))
        show(
            f"GET /metrics, {3 * CLUSTERS} hosts",
            latencies_ms(f"{server.rest_url}/metrics", server.admin_token),
            "under 50 ms",
        )
        figure(
            f"control-plane idle CPU ({IDLE_S} s, loads read)",
            f"{idle_cpu_percent([server.process.pid], IDLE_S):.1f} % of one core",
            "under 5 %",
        )
