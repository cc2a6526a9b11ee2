"""``GET /metrics``'s clusters part kept between scrapes: what is kept is what a fresh writer
writes, after loads read anew, hosts going silent, a cluster renamed or deleted; the
service's page from a store (SQLite) and the supervisor's loads; and the page kept per
caller while nothing it shows moved."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Connection

from managed_redis.engine.facts import HostFacts, ProcessState, RedisFacts, Role, SentinelFacts
from managed_redis.engine.stats import redis_stats
from managed_redis.operations.host_stats import SupervisorMetrics
from managed_redis.services.access import Principal
from managed_redis.services.cluster_blocks import ClusterBlocks, ClusterState
from managed_redis.services.host_families import HostSeries, redis_text
from managed_redis.services.metric_families import cluster_health_text
from managed_redis.services.metrics import STATS_KEPT_PERIODS, MetricsService
from managed_redis.statuses import ClusterStatus, HostState
from managed_redis.store import clusters as cluster_store
from managed_redis.store import host_facts, migrations
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord, HostRecord, ShardRecord
from managed_redis.store.database import Database
from managed_redis.store.host_facts import Sighting
from managed_redis.store.operations import OperationRecord
from tests.unit.test_metric_families import MASTER_INFO, REPLICA_INFO

MASTER_STATS = redis_stats(MASTER_INFO)
REPLICA_STATS = redis_stats(REPLICA_INFO)


def _state(cluster_id: str, name: str, health: str, hosts: list[tuple[str, str, bool, bool]]) -> ClusterState:
    """hosts: (host name, role, up, with a load)."""
    labels = tuple((cluster_id, name, "b1gfolder", "shard1", host, role) for host, role, _, _ in hosts)
    loads = tuple((MASTER_STATS if role == "master" else REPLICA_STATS) if load else None for _, role, _, load in hosts)
    return ClusterState(
        labels,
        tuple(up for _, _, up, _ in hosts),
        loads,
        health,
        cluster_id,
        (cluster_id, name, "b1gfolder"),
    )


def _written_afresh(states: list[ClusterState]) -> bytes:
    """The same families as a writer that keeps nothing writes them."""
    hosts = [HostSeries(*key) for s in states for key in zip(s.hosts, s.up, s.stats, strict=True)]
    health = [(s.cluster_labels, s.health) for s in states]
    return (redis_text(hosts) + cluster_health_text(health)).encode()


def test_kept_blocks_write_what_a_fresh_writer_writes() -> None:
    orders = _state(
        "c9qa", "orders", "ALIVE", [("10.0.0.1", "master", True, True), ("10.0.0.2", "replica", True, True)]
    )
    carts = _state(
        "c9qb", "carts", "DEGRADED", [("10.0.0.3", "master", True, True), ("10.0.0.4", "unknown", False, True)]
    )
    empty = _state("c9qc", "empty", "HEALTH_UNKNOWN", [])
    blocks = ClusterBlocks()
    first = blocks.text([orders, carts, empty], {"c9qa", "c9qb", "c9qc"})
    assert first == _written_afresh([orders, carts, empty])
    assert [f.name for f in text_string_to_metric_families(first.decode())][-1] == "mredis_cluster_health"
    # Nothing changed: the page kept is answered as it is.
    assert blocks.text([orders, carts, empty], {"c9qa", "c9qb", "c9qc"}) is first

    # A load read anew (another object, other numbers), a host gone silent, a rename.
    busier = dataclasses.replace(MASTER_STATS, commands_processed=99999.0, used_memory_bytes=2097152.0)
    orders = orders._replace(stats=(busier, orders.stats[1]))
    carts = carts._replace(up=(True, False), health="HEALTH_UNKNOWN")
    renamed = _state("c9qc", "empty-renamed", "HEALTH_UNKNOWN", [])
    second = blocks.text([orders, carts, renamed], {"c9qa", "c9qb", "c9qc"})
    assert second == _written_afresh([orders, carts, renamed])
    assert b'redis_commands_processed_total{cluster_id="c9qa",cluster_name="orders"' in second
    assert b"99999.0" in second and b'cluster_name="empty-renamed"' in second

    # A cluster deleted: its lines go, and so does what was kept of it.
    third = blocks.text([carts], {"c9qb"})
    assert third == _written_afresh([carts])
    assert b"c9qa" not in third
    assert blocks.text([orders, carts], {"c9qa", "c9qb"}) == _written_afresh([orders, carts])


def test_a_caller_who_sees_fewer_clusters_gets_only_theirs() -> None:
    orders = _state("c9qa", "orders", "ALIVE", [("10.0.0.1", "master", True, True)])
    carts = _state("c9qb", "carts", "ALIVE", [("10.0.0.3", "master", True, False)])
    blocks = ClusterBlocks()
    assert blocks.text([orders, carts], {"c9qa", "c9qb"}) == _written_afresh([orders, carts])
    assert blocks.text([carts], {"c9qa", "c9qb"}) == _written_afresh([carts])
    assert blocks.text([orders, carts], {"c9qa", "c9qb"}) == _written_afresh([orders, carts])


class MovableClock:
    def __init__(self) -> None:
        self.at = dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        return self.at


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrations.migrate(database)
    yield database
    database.dispose()


FOLDERS = {"c9qa": "b1gfolder1", "c9qb": "b1gfolder2"}
HOSTS = {"c9qa": ["10.0.0.1", "10.0.0.2"], "c9qb": ["10.0.0.3", "10.0.0.4"]}


def _fill(db: Database, now: dt.datetime) -> None:
    with db.write() as conn:
        for cluster_id, folder in FOLDERS.items():
            record = ClusterRecord(cluster_id, folder, f"name-{cluster_id}", ClusterStatus.RUNNING, now)
            cluster_store.insert(conn, record)
            cluster_store.insert_shard(conn, ShardRecord(cluster_id, "shard1", now))
            master, replica = HOSTS[cluster_id]
            for host in (master, replica):
                cluster_store.insert_host(
                    conn, HostRecord(host, cluster_id, "shard1", "zone-a", host, HostState.ACTIVE, now)
                )
            cluster_store.set_shard_master(conn, cluster_id, "shard1", master)
        _look(conn, list(FOLDERS), now, facts=True)


def _look(conn: Connection, cluster_ids: list[str], now: dt.datetime, facts: bool = False) -> None:
    sentinel = SentinelFacts(ProcessState.RUNNING, answered=True)
    sightings = []
    for cluster_id in cluster_ids:
        master, replica = HOSTS[cluster_id]
        seen = {
            master: HostFacts(RedisFacts(ProcessState.RUNNING, answered=True, role=Role.MASTER), sentinel),
            replica: HostFacts(
                RedisFacts(ProcessState.RUNNING, answered=True, role=Role.REPLICA, master_address=master, link_up=True),
                sentinel,
            ),
        }
        sightings += [Sighting(h, cluster_id, True, f.to_json() if facts else None) for h, f in seen.items()]
    host_facts.record(conn, sightings, now)


def _samples(service: MetricsService, principal: Principal, name: str) -> dict[tuple[str, str], float]:
    """(cluster_id, host or health) -> value of the family ``name`` on the page."""
    text = service.exposition(principal).decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                key = sample.labels.get("host") or sample.labels["health"]
                if name != "mredis_cluster_health" or sample.value == 1:
                    found[(sample.labels["cluster_id"], key)] = sample.value
    return found


ADMIN = Principal("admin", admin_everywhere=True)


def test_the_page_follows_looks_loads_and_renames(db: Database) -> None:
    clock = MovableClock()
    _fill(db, clock.at)
    supervisor = SupervisorMetrics(period_s=12.0)
    supervisor.stats.record("10.0.0.1", MASTER_STATS, time.time())
    service = MetricsService(db, supervisor, clock)
    assert _samples(service, ADMIN, "redis_up") == dict.fromkeys(
        [("c9qa", "10.0.0.1"), ("c9qa", "10.0.0.2"), ("c9qb", "10.0.0.3"), ("c9qb", "10.0.0.4")], 1.0
    )
    assert _samples(service, ADMIN, "mredis_cluster_health") == {("c9qa", "ALIVE"): 1, ("c9qb", "ALIVE"): 1}
    assert _samples(service, ADMIN, "redis_commands_processed_total") == {("c9qa", "10.0.0.1"): 12345.0}

    # 31 s later only c9qa's hosts were looked at again: c9qb's are down, its health unknown.
    clock.at += dt.timedelta(seconds=31)
    with db.write() as conn:
        _look(conn, ["c9qa"], clock.at)
    assert _samples(service, ADMIN, "redis_up") == {
        ("c9qa", "10.0.0.1"): 1.0,
        ("c9qa", "10.0.0.2"): 1.0,
        ("c9qb", "10.0.0.3"): 0.0,
        ("c9qb", "10.0.0.4"): 0.0,
    }
    assert _samples(service, ADMIN, "mredis_cluster_health") == {("c9qa", "ALIVE"): 1, ("c9qb", "HEALTH_UNKNOWN"): 1}

    # A load read anew, and a rename.
    busier = dataclasses.replace(MASTER_STATS, commands_processed=20000.0)
    supervisor.stats.record("10.0.0.1", busier, time.time())
    with db.write() as conn:
        cluster_store.update(conn, "c9qa", name="renamed")
    assert _samples(service, ADMIN, "redis_commands_processed_total") == {("c9qa", "10.0.0.1"): 20000.0}
    page = service.exposition(ADMIN).decode()
    assert 'cluster_name="renamed"' in page and 'cluster_name="name-c9qa"' not in page

    # A viewer of the second folder sees its cluster only; the cluster deleted, nobody does.
    viewer = Principal("viewer", folder_roles={"b1gfolder2": frozenset({"managed-redis.viewer"})})
    assert set(_samples(service, viewer, "redis_up")) == {("c9qb", "10.0.0.3"), ("c9qb", "10.0.0.4")}
    with db.write() as conn:
        cluster_store.delete(conn, "c9qb")
    assert set(_samples(service, ADMIN, "redis_up")) == {("c9qa", "10.0.0.1"), ("c9qa", "10.0.0.2")}


def test_a_page_is_answered_as_kept_while_what_it_shows_stays(db: Database) -> None:
    clock = MovableClock()
    _fill(db, clock.at)
    supervisor = SupervisorMetrics(period_s=12.0)
    # A load read long ago: it leaves the page in two seconds, with nothing else moving.
    kept_s = 12.0 * STATS_KEPT_PERIODS + 10.0
    read_at_s = time.time() - kept_s + 2.0
    supervisor.stats.record("10.0.0.1", MASTER_STATS, read_at_s)
    service = MetricsService(db, supervisor, clock)
    viewer = Principal("viewer", folder_roles={"b1gfolder2": frozenset({"managed-redis.viewer"})})
    first, seen = service.exposition(ADMIN), service.exposition(viewer)
    assert service.exposition(ADMIN) is first and service.exposition(viewer) is seen
    assert _samples(service, ADMIN, "redis_commands_processed_total") == {("c9qa", "10.0.0.1"): 12345.0}

    # An operation submitted: both pages count it running.
    with db.write() as conn:
        op_store.insert(
            conn,
            OperationRecord(
                "op1", "cluster.update", "", "b1gfolder2", "c9qb", "admin", clock.at, clock.at, b"", b"", ""
            ),
        )
    assert service.exposition(ADMIN) != first and service.exposition(viewer) != seen
    assert b'mredis_operations_running{type="cluster.update"} 1.0' in service.exposition(viewer)
    # A supervisor pass counted: the admin's page moves, the viewer's (without the tallies) stays.
    admin_page, viewer_page = service.exposition(ADMIN), service.exposition(viewer)
    supervisor.tally.passed(0.01)
    assert service.exposition(ADMIN) != admin_page and service.exposition(viewer) is viewer_page

    time.sleep(max(0.0, read_at_s + kept_s - time.time()) + 0.05)
    assert _samples(service, ADMIN, "redis_commands_processed_total") == {}
