"""``GET /metrics`` on a synthetic store: the render path timed without a single Redis process.

A fresh SQLite store (written through the store layer, as the service writes it) holds
``BENCH_CLUSTERS`` clusters of a master and two replicas, each host with a stored look as the
supervisor stores it (Redis and Sentinel facts) and a load in the supervisor's memory
(``RedisStats`` read by ``engine.stats.redis_stats`` from INFO texts shaped like a live
server's), and some finished operations. A thread plays the supervisor's part in what moves
between scrapes: every second it moves every host's look time on (one transaction, as a pass
does) and reads a twelfth of the hosts' loads anew (``metrics_period_s`` 12 s).

Figures, each labelled SYNTHETIC (the real run is ``bench/metrics.py``): the scrape in the
process (``MetricsService.exposition``, the admin), and over HTTP through the REST gateway's
page beside the same gateway's empty page (the floor). No process of the service runs, so
what this leaves out is the competition for the CPU and the GIL of a real control plane
(its supervisor's passes, 1,200 Redis and Sentinel processes).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import multiprocessing
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import requests
from aiohttp import web

from bench.common import figure
from bench.supervision import CLUSTERS
from managed_redis.api.auth import Authenticator
from managed_redis.api.dispatch import Dispatcher
from managed_redis.api.metrics import METRICS_PATH, metrics_page
from managed_redis.api.rest import RestGateway, start_rest_server
from managed_redis.clock import SYSTEM_CLOCK
from managed_redis.engine.facts import HostFacts, ProcessState, RedisFacts, Role, SentinelFacts
from managed_redis.engine.stats import redis_stats
from managed_redis.operations.host_stats import SupervisorMetrics
from managed_redis.services.access import Principal
from managed_redis.services.metrics import MetricsService
from managed_redis.statuses import ClusterStatus, HostState
from managed_redis.store import clusters as cluster_store
from managed_redis.store import host_facts, migrations
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord, HostRecord, ShardRecord
from managed_redis.store.database import Database
from managed_redis.store.host_facts import Sighting
from managed_redis.store.operations import OperationRecord

FOLDER = "b1gbenchfolder000001"
ADMIN_TOKEN = "synthetic-metrics-admin-token"
METRICS_PERIOD_S = 12.0
SCRAPES = 200
BUSY_SHARE = 0.5
# Host address -> (its cluster's master, its cluster's replicas).
Topology = dict[str, tuple[str, list[str]]]


def _master_info(replicas: list[str], n: int) -> str:
    lines = [
        "# Server",
        "redis_version:7.2.4",
        f"uptime_in_seconds:{86_400 + n}",
        "# Clients",
        f"connected_clients:{12 + n % 7}",
        "blocked_clients:0",
        "# Memory",
        f"used_memory:{2_137_184 + 4096 * n}",
        f"used_memory_rss:{9_437_184 + 4096 * n}",
        "maxmemory:1073741824",
        "# Stats",
        f"total_connections_received:{1_520 + n}",
        f"total_commands_processed:{3_456_789 + 37 * n}",
        f"total_net_input_bytes:{123_456_789 + 512 * n}",
        f"total_net_output_bytes:{987_654_321 + 1024 * n}",
        "rejected_connections:0",
        f"expired_keys:{1_234 + n}",
        "evicted_keys:0",
        f"keyspace_hits:{2_345_678 + 11 * n}",
        f"keyspace_misses:{34_567 + n}",
        "# Replication",
        "role:master",
        f"connected_slaves:{len(replicas)}",
        *(
            f"slave{i}:ip={ip},port=6379,state=online,offset={98_765_432 + n},lag={n % 2}"
            for i, ip in enumerate(replicas)
        ),
        f"master_repl_offset:{98_765_432 + n}",
        "# Persistence",
        "aof_enabled:1",
        "# Keyspace",
        f"db0:keys={10_000 + n},expires={1_000 + n},avg_ttl=3600000",
        "",
    ]
    return "\r\n".join(lines)


def _replica_info(master: str, n: int) -> str:
    lines = [
        "# Server",
        "redis_version:7.2.4",
        f"uptime_in_seconds:{86_400 + n}",
        "# Clients",
        f"connected_clients:{3 + n % 3}",
        "blocked_clients:0",
        "# Memory",
        f"used_memory:{2_101_144 + 4096 * n}",
        f"used_memory_rss:{9_011_200 + 4096 * n}",
        "maxmemory:1073741824",
        "# Stats",
        f"total_connections_received:{320 + n}",
        f"total_commands_processed:{1_234_567 + 13 * n}",
        f"total_net_input_bytes:{98_765_432 + 512 * n}",
        f"total_net_output_bytes:{12_345_678 + 256 * n}",
        "rejected_connections:0",
        "expired_keys:0",
        "evicted_keys:0",
        f"keyspace_hits:{45_678 + n}",
        "keyspace_misses:123",
        "# Replication",
        "role:slave",
        f"master_host:{master}",
        "master_port:6379",
        "master_link_status:up",
        f"master_last_io_seconds_ago:{n % 2}",
        f"slave_repl_offset:{98_765_432 + n}",
        "connected_slaves:0",
        f"master_repl_offset:{98_765_432 + n}",
        "# Keyspace",
        f"db0:keys={10_000 + n},expires={1_000 + n},avg_ttl=3600000",
        "",
    ]
    return "\r\n".join(lines)


def _facts(address: str, master: str, replicas: list[str]) -> HostFacts:
    """A look at a healthy host as the supervisor stores it."""
    sentinel = SentinelFacts(ProcessState.RUNNING, answered=True, master_address=master)
    if address == master:
        redis = RedisFacts(
            ProcessState.RUNNING,
            answered=True,
            role=Role.MASTER,
            offset=98_765_432,
            replid="5f0c3e9a4b7d1e2f3a4b5c6d7e8f9a0b1c2d3e4f",
            replica_priority=100,
            replica_lags=dict.fromkeys(replicas, 0),
            min_replicas=0,
            aof_enabled=True,
        )
    else:
        redis = RedisFacts(
            ProcessState.RUNNING,
            answered=True,
            role=Role.REPLICA,
            master_address=master,
            link_up=True,
            master_last_io_s=0,
            offset=98_765_432,
            replid="5f0c3e9a4b7d1e2f3a4b5c6d7e8f9a0b1c2d3e4f",
            replica_priority=100,
            aof_enabled=True,
        )
    return HostFacts(redis, sentinel)


def _addresses(cluster: int) -> list[str]:
    first = 3 * cluster + 1
    return [f"127.26.{(first + i) // 250}.{(first + i) % 250 + 1}" for i in range(3)]


def fill(db: Database, clusters: int) -> Topology:
    """Write ``clusters`` RUNNING clusters of 3 hosts with a look at each, and a finished
    create operation each; host address -> (its master, its replicas)."""
    now = dt.datetime.now(dt.UTC)
    topology: Topology = {}
    with db.write() as conn:
        for n in range(clusters):
            cluster_id = f"c9qbench{n:012d}"
            spec = {"cluster": {"persistenceMode": "ON"}, "config": {"version": "7.2"}}
            record = ClusterRecord(
                cluster_id, FOLDER, f"bench-{n}", ClusterStatus.RUNNING, now, spec=spec, running_version="7.2.4"
            )
            cluster_store.insert(conn, record)
            cluster_store.insert_shard(conn, ShardRecord(cluster_id, "shard1", now))
            master, *replicas = _addresses(n)
            for address in (master, *replicas):
                host = HostRecord(address, cluster_id, "shard1", "ru-central1-a", address, HostState.ACTIVE, now)
                cluster_store.insert_host(conn, host)
                topology[address] = (master, replicas)
            cluster_store.set_shard_master(conn, cluster_id, "shard1", master)
            # Created a minute apart, as a bench creating them one after another would.
            created = now - dt.timedelta(minutes=clusters - n + 1)
            operation = OperationRecord(
                f"op{n:017d}",
                "cluster.create",
                "Create cluster",
                FOLDER,
                cluster_id,
                "admin",
                created,
                created,
                b"",
                b"",
                "f",
            )
            op_store.insert(conn, operation)
            op_store.finish(conn, operation, None, created + dt.timedelta(seconds=20 + n % 40), response=b"")
        sightings = [
            Sighting(address, _cluster_of(address, n), True, _facts(address, master, replicas).to_json())
            for n, (address, (master, replicas)) in enumerate(topology.items())
        ]
        host_facts.record(conn, sightings, now)
    return topology


def _cluster_of(address: str, n: int) -> str:
    return f"c9qbench{n // 3:012d}"


_READS = itertools.count()


def read_loads(supervisor: SupervisorMetrics, topology: Topology, part: int, parts: int) -> None:
    """The supervisor's load reads of one pass: host ``i`` is read in pass ``i % parts``."""
    now_s = time.time()
    for n, (address, (master, replicas)) in enumerate(topology.items()):
        if n % parts != part:
            continue
        # Each read finds other numbers (uptime, commands, ...), as a live server's would.
        salt = n + next(_READS)
        info = _master_info(replicas, salt) if address == master else _replica_info(master, salt)
        supervisor.stats.record(address, redis_stats(info), now_s)


def pass_times(db: Database, topology: Topology) -> None:
    """What a supervisor pass writes when nothing changed: every host's look time moved on."""
    names = list(topology)
    with db.write() as conn:
        sightings = [Sighting(name, _cluster_of(name, n), True, None) for n, name in enumerate(names)]
        host_facts.record(conn, sightings, dt.datetime.now(dt.UTC))


@contextmanager
def supervisor_churn(db: Database, supervisor: SupervisorMetrics, topology: Topology) -> Iterator[None]:
    """A thread doing a supervisor pass's writes each second (see the module docstring)."""
    parts = int(METRICS_PERIOD_S)

    def run(stop: threading.Event) -> None:
        part = 0
        while not stop.wait(1.0):
            pass_times(db, topology)
            read_loads(supervisor, topology, part % parts, parts)
            part += 1

    with _in_background("synthetic-supervisor", run):
        yield


@contextmanager
def metrics_server(service: MetricsService, authenticator: Authenticator) -> Iterator[str]:
    """The REST gateway with the ``/metrics`` page, an empty page (``/floor``) and a page of as
    many bytes as ``/metrics`` built once (``/floor-bytes``: moving them is all it does), on a loopback
    port of its own in a thread; its base URL."""
    executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="api")

    async def floor(_request: web.BaseRequest, _request_id: str) -> web.StreamResponse:
        return web.Response(body=b"")

    body = service.exposition(Principal("admin", admin_everywhere=True))

    async def floor_bytes(_request: web.BaseRequest, _request_id: str) -> web.StreamResponse:
        return web.Response(body=body)

    pages = {
        METRICS_PATH: metrics_page(authenticator, service, executor),
        "/floor": floor,
        "/floor-bytes": floor_bytes,
    }
    gateway = RestGateway(Dispatcher(authenticator, executor), [], pages)
    loop = asyncio.new_event_loop()
    started: list[tuple[web.BaseRunner, int]] = []
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        started.append(loop.run_until_complete(start_rest_server(gateway, "127.0.0.1:0")))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="synthetic-rest", daemon=True)
    thread.start()
    ready.wait(10)
    runner, port = started[0]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        executor.shutdown()


def percentiles(spent: list[float]) -> str:
    ordered = sorted(spent)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms (n={len(ordered)})"


def in_process_ms(service: MetricsService, scrapes: int, before: Callable[[], None] | None = None) -> list[float]:
    """``scrapes`` renders one after another, as the admin, each in ms (``before`` run, untimed,
    before each)."""
    admin = Principal("admin", admin_everywhere=True)
    spent = []
    for _ in range(scrapes):
        if before is not None:
            before()
        started = time.perf_counter()
        service.exposition(admin)
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def http_ms(url: str, token: str | None, scrapes: int) -> list[float]:
    """``scrapes`` GETs of ``url`` one after another on one connection, each in ms, from a
    process of their own (as Prometheus is: the client's work is not the server's)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(scrape_ms, (url, token, scrapes))


def scrape_ms(url: str, token: str | None, scrapes: int) -> list[float]:
    """``scrapes`` GETs of ``url`` (with ``token`` as a bearer token, if any) one after another
    on one connection, each in ms; AssertionError on an answer other than 200."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    spent = []
    with requests.Session() as session:
        for _ in range(scrapes):
            started = time.perf_counter()
            response = session.get(url, headers=headers, timeout=30)
            spent.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return spent


@contextmanager
def synthetic_service(
    clusters: int,
) -> Iterator[tuple[MetricsService, Database, SupervisorMetrics, Topology]]:
    """A MetricsService over a fresh store filled by ``fill``, every host's load read once."""
    with tempfile.TemporaryDirectory(prefix="metrics-synthetic-") as directory:
        db = Database(f"sqlite:///{Path(directory) / 'store.sqlite'}")
        migrations.migrate(db)
        topology = fill(db, clusters)
        supervisor = SupervisorMetrics(METRICS_PERIOD_S)
        read_loads(supervisor, topology, 0, 1)
        try:
            yield MetricsService(db, supervisor, SYSTEM_CLOCK), db, supervisor, topology
        finally:
            db.dispose()


def main() -> None:
    """``python -m bench metrics-store``: the SYNTHETIC figures alone (``BENCH_CLUSTERS``, 200)."""
    synthetic(CLUSTERS)


def synthetic(clusters: int) -> None:
    """Print the SYNTHETIC figures for ``clusters`` clusters of 3 hosts."""
    with synthetic_service(clusters) as (service, db, supervisor, topology):
        print(f"metrics (SYNTHETIC store, no Redis process): {clusters} clusters of 3 hosts", flush=True)
        admin = Principal("admin", admin_everywhere=True)
        page = service.exposition(admin)
        series = sum(1 for line in page.splitlines() if line and not line.startswith(b"#"))
        figure("SYNTHETIC: the page", f"{len(page) / 1024:.0f} KiB, {series} series")
        figure("SYNTHETIC: in process, nothing moved", percentiles(in_process_ms(service, SCRAPES)))
        every_load = partial(read_loads, supervisor, topology, 0, 1)
        figure("SYNTHETIC: in process, every load new", percentiles(in_process_ms(service, SCRAPES, every_load)))
        with supervisor_churn(db, supervisor, topology):
            figure("SYNTHETIC: in process, a pass a second", percentiles(in_process_ms(service, SCRAPES)))
            with tempfile.TemporaryDirectory(prefix="metrics-tokens-") as directory:
                authenticator = Authenticator(ADMIN_TOKEN, Path(directory) / "tokens.json")
                with metrics_server(service, authenticator) as url:
                    over_http(url, clusters, "")
                    with busy_thread(BUSY_SHARE):
                        over_http(url, clusters, f", a thread busy {BUSY_SHARE:.0%} of the time")


def over_http(url: str, clusters: int, beside: str) -> None:
    """The HTTP figures: the two floors and the page, each SCRAPES GETs."""
    floor = http_ms(f"{url}/floor", None, SCRAPES)
    figure(f"SYNTHETIC: floor, an empty page{beside}", percentiles(floor))
    floor = http_ms(f"{url}/floor-bytes", None, SCRAPES)
    figure(f"SYNTHETIC: floor, as many bytes kept{beside}", percentiles(floor))
    spent = http_ms(f"{url}{METRICS_PATH}", ADMIN_TOKEN, SCRAPES)
    figure(f"SYNTHETIC: GET /metrics, {3 * clusters} hosts{beside}", percentiles(spent))


@contextmanager
def busy_thread(share: float) -> Iterator[None]:
    """A thread of this process computing ``share`` of each 10 ms, sleeping the rest: a stand-in
    for the control plane's other threads (its supervisor's passes) wanting the GIL too."""

    def spin(stop: threading.Event) -> None:
        while not stop.is_set():
            until = time.perf_counter() + 0.01 * share
            while time.perf_counter() < until:
                pass
            time.sleep(0.01 * (1 - share))

    with _in_background("synthetic-busy", spin):
        yield


@contextmanager
def _in_background(name: str, body: Callable[[threading.Event], None]) -> Iterator[None]:
    """``body(stop)`` in a daemon thread named ``name`` for the length of the block; ``stop``
    is set as the block ends, and the thread joined."""
    stop = threading.Event()
    thread = threading.Thread(target=body, args=(stop,), name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
