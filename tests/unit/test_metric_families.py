"""From what the control plane knows to Prometheus families: a host's INFO read into its load,
the load into the Redis exporter's names, types and labels, finished operations into
counts and durations, and when the supervisor reads each host's load."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from managed_redis.engine.stats import redis_stats
from managed_redis.operations.host_stats import StatsBook, SupervisorTally
from managed_redis.services.host_families import HostSeries, redis_families, redis_text
from managed_redis.services.metric_families import cluster_health_text, operation_families
from managed_redis.services.operation_tally import OperationTally
from managed_redis.store import migrations
from managed_redis.store import operations as op_store
from managed_redis.store.database import Database
from managed_redis.store.operations import OperationRecord

MASTER_INFO = "\r\n".join(
    [
        "# Server",
        "redis_version:7.0.15",
        "uptime_in_seconds:3600",
        "# Clients",
        "connected_clients:7",
        "blocked_clients:1",
        "# Memory",
        "used_memory:1048576",
        "used_memory_rss:4194304",
        "maxmemory:0",
        "# Stats",
        "total_connections_received:40",
        "total_commands_processed:12345",
        "total_net_input_bytes:100",
        "total_net_output_bytes:200",
        "rejected_connections:0",
        "expired_keys:3",
        "evicted_keys:2",
        "keyspace_hits:90",
        "keyspace_misses:10",
        "# Replication",
        "role:master",
        "connected_slaves:2",
        "slave0:ip=127.20.0.2,port=6379,state=online,offset=5000,lag=0",
        "slave1:ip=127.20.0.3,port=6379,state=wait_bgsave,offset=0,lag=4",
        "master_repl_offset:5010",
        "# Keyspace",
        "db0:keys=100,expires=10,avg_ttl=2500",
        "db3:keys=1,expires=0,avg_ttl=0",
        "",
    ]
)
REPLICA_INFO = "\r\n".join(
    [
        "# Server",
        "valkey_version:8.1.1",
        "redis_version:7.2.4",
        "# Replication",
        "role:slave",
        "master_host:127.20.0.1",
        "master_port:6379",
        "master_link_status:down",
        "master_last_io_seconds_ago:-1",
        "slave_repl_offset:4000",
        "connected_slaves:0",
        "master_repl_offset:4000",
        "",
    ]
)
MASTER = ("c9qa", "orders", "b1gfolder", "shard1", "127.20.0.1", "master")
REPLICA = ("c9qa", "orders", "b1gfolder", "shard1", "127.20.0.2", "replica")
GONE = ("c9qb", "carts", "b1gfolder", "s2", "127.20.0.9", "unknown")


def exposed(families: list[Metric]) -> dict[str, tuple[str, list[tuple[dict[str, str], float]]]]:
    """What a Prometheus server reads from ``families``: written in the text format, parsed
    back; metric name as written -> (type, [(labels, value)])."""

    found = {}
    for family in text_string_to_metric_families(generate_latest(_registry(families)).decode()):
        name = family.name + ("_total" if family.type == "counter" else "")
        found[name] = (family.type, [(dict(s.labels), s.value) for s in family.samples])
    return found


def test_a_master_info_read_into_its_load() -> None:
    stats = redis_stats(MASTER_INFO)
    assert (stats.version, stats.uptime_s, stats.connected_clients, stats.used_memory_bytes) == (
        "7.0.15",
        3600,
        7,
        1048576,
    )
    assert (stats.commands_processed, stats.keyspace_hits, stats.keyspace_misses) == (12345, 90, 10)
    assert [(r.ip, r.state, r.offset_bytes, r.lag_s) for r in stats.replicas] == [
        ("127.20.0.2", "online", 5000, 0),
        ("127.20.0.3", "wait_bgsave", 0, 4),
    ]
    assert {db: (d.keys, d.expiring, d.avg_ttl_s) for db, d in stats.databases.items()} == {
        "db0": (100, 10, 2.5),
        "db3": (1, 0, 0),
    }
    assert stats.master_link_up is None and stats.slave_repl_offset is None


def test_a_replica_info_and_a_valkey_version() -> None:
    stats = redis_stats(REPLICA_INFO)
    assert stats.version == "8.1.1"
    assert (stats.master_host, stats.master_port, stats.master_link_up, stats.slave_repl_offset) == (
        "127.20.0.1",
        "6379",
        False,
        4000,
    )
    assert stats.replicas == () and stats.databases == {} and stats.used_memory_bytes is None


def test_families_carry_the_exporter_names_types_and_host_labels() -> None:
    hosts = [
        HostSeries(MASTER, up=True, stats=redis_stats(MASTER_INFO)),
        HostSeries(REPLICA, up=True, stats=redis_stats(REPLICA_INFO)),
        HostSeries(GONE, up=False, stats=redis_stats(MASTER_INFO)),
    ]
    found = exposed(redis_families(hosts))
    labels = ("cluster_id", "cluster_name", "folder_id", "shard", "host", "role")
    master, replica, gone = (dict(zip(labels, h, strict=True)) for h in (MASTER, REPLICA, GONE))
    assert found["redis_up"] == ("gauge", [(master, 1.0), (replica, 1.0), (gone, 0.0)])
    for name, kind in [
        ("redis_memory_used_bytes", "gauge"),
        ("redis_memory_max_bytes", "gauge"),
        ("redis_connected_clients", "gauge"),
        ("redis_uptime_in_seconds", "gauge"),
        ("redis_connected_slaves", "gauge"),
        ("redis_master_repl_offset", "gauge"),
        ("redis_commands_processed_total", "counter"),
        ("redis_keyspace_hits_total", "counter"),
        ("redis_keyspace_misses_total", "counter"),
        ("redis_evicted_keys_total", "counter"),
        ("redis_expired_keys_total", "counter"),
    ]:
        assert found[name][0] == kind, name
        assert gone not in [labels for labels, _ in found[name][1]], f"{name}: a host that is down has no load"
    assert found["redis_memory_used_bytes"][1] == [(master, 1048576.0)]
    assert found["redis_commands_processed_total"][1] == [(master, 12345.0)]
    assert found["redis_db_keys"] == ("gauge", [({**master, "db": "db0"}, 100.0), ({**master, "db": "db3"}, 1.0)])
    assert found["redis_connected_slave_offset_bytes"][1] == [
        ({**master, "slave_ip": "127.20.0.2", "slave_port": "6379", "slave_state": "online"}, 5000.0),
        ({**master, "slave_ip": "127.20.0.3", "slave_port": "6379", "slave_state": "wait_bgsave"}, 0.0),
    ]
    following = {**replica, "master_host": "127.20.0.1", "master_port": "6379"}
    assert found["redis_master_link_up"][1] == [(following, 0.0)]
    assert found["redis_slave_repl_offset"][1] == [(following, 4000.0)]
    assert found["redis_instance_info"][1] == [
        ({**master, "redis_version": "7.0.15"}, 1.0),
        ({**replica, "redis_version": "8.1.1"}, 1.0),
    ]


def test_the_page_writes_the_same_samples_as_prometheus_client() -> None:
    odd = ("c9qa", 'we"ird\\name\nx', "b1gfolder", "shard1", "127.20.0.1", "master")
    hosts = [
        HostSeries(MASTER, up=True, stats=redis_stats(MASTER_INFO)),
        HostSeries(REPLICA, up=True, stats=redis_stats(REPLICA_INFO)),
        HostSeries(GONE, up=False, stats=None),
        HostSeries(odd, up=True, stats=redis_stats(MASTER_INFO)),
        # Up, its load not read yet (a control plane that just started).
        HostSeries(("c9qb", "carts", "b1gfolder", "s2", "127.20.0.8", "master"), up=True, stats=None),
    ]

    def parsed(text: str) -> list[tuple[str, str, str, list[tuple[str, tuple[tuple[str, str], ...], float]]]]:
        return [
            (f.name, f.type, f.documentation, [(s.name, tuple(sorted(s.labels.items())), s.value) for s in f.samples])
            for f in text_string_to_metric_families(text)
        ]

    written = parsed(redis_text(hosts))
    assert written == parsed(generate_latest(_registry(redis_families(hosts))).decode())
    assert ("cluster_name", 'we"ird\\name\nx') in written[0][3][3][1]


def _registry(families: list[Metric]) -> CollectorRegistry:
    class Collector:
        def collect(self) -> list[Metric]:
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector())
    return registry


def test_cluster_health_is_one_state_of_four() -> None:
    text = cluster_health_text([(("c9qa", "orders", "b1gfolder"), "DEGRADED")])
    [family] = text_string_to_metric_families(text)
    kind, samples = family.type, [(s.labels, s.value) for s in family.samples]
    assert kind == "gauge"
    assert {labels["health"]: value for labels, value in samples} == {
        "ALIVE": 0.0,
        "DEGRADED": 1.0,
        "DEAD": 0.0,
        "HEALTH_UNKNOWN": 0.0,
    }


def _operation(db: Database, op_id: str, folder: str, kind: str, seconds: float, error: bool = False) -> None:
    created = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    record = OperationRecord(
        op_id, kind, "x", folder, None, "admin", created, created, b"", b"", "f", locks_cluster=False
    )
    with db.write() as conn:
        op_store.insert(conn, record)
        ended = created + dt.timedelta(seconds=seconds)
        op_store.finish(conn, record, None, ended, error=b"failed" if error else None, response=None if error else b"")


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrations.migrate(database)
    return database


def test_operations_are_counted_once_each_by_type_result_and_folder(db: Database) -> None:
    tally = OperationTally(db)
    _operation(db, "op1", "f1", "cluster.create", 3.0)
    _operation(db, "op2", "f1", "cluster.create", 40.0, error=True)
    _operation(db, "op3", "f2", "cluster.backup", 0.5)
    tally.counts(lambda folder: True)
    _operation(db, "op4", "f1", "cluster.create", 7.0)
    every = tally.counts(lambda folder: True)
    assert every.finished == {("cluster.create", "ok"): 2, ("cluster.create", "error"): 1, ("cluster.backup", "ok"): 1}
    found = exposed(operation_families(every.finished, every.durations, every.running))
    assert found["mredis_operations_total"][0] == "counter"
    kind, samples = found["mredis_operation_duration_seconds"]
    assert kind == "histogram"
    buckets = {
        labels["le"]: value for labels, value in samples if labels.get("type") == "cluster.create" and "le" in labels
    }
    assert (buckets["2.5"], buckets["5.0"], buckets["10.0"], buckets["60.0"], buckets["+Inf"]) == (0, 1, 2, 3, 3)
    only_f2 = tally.counts(lambda folder: folder == "f2")
    assert only_f2.finished == {("cluster.backup", "ok"): 1} and set(only_f2.durations) == {"cluster.backup"}


def test_a_host_load_is_read_once_a_period_each_host_in_its_own_slot() -> None:
    book = StatsBook(period_s=12.0)
    names = [f"127.20.{i // 250}.{i % 250 + 1}" for i in range(600)]
    # A control plane that just started reads a share of the hosts in each pass, not all at once;
    # looked at every 3 s (in turn), each host is read within the period all the same.
    start = 1_000_000.0
    due = [[name for name in names if book.due(name, start + t)] for t in (0.0, 3.0, 6.0, 9.0, 12.0)]
    assert len(due[0]) < 10 and 50 < len(due[1]) < 250 and len(due[1]) < len(due[2]) < len(due[3])
    assert due[-1] == names
    book.record(names[0], redis_stats(MASTER_INFO), start + 1.0)
    assert not book.due(names[0], start + 12.0) and book.due(names[0], start + 13.0)
    version, _ = book.snapshot()
    book.forget_all_but(names[1:])
    moved, samples = book.snapshot()
    assert names[0] not in samples and moved != version
    # Nothing to forget: the version stays (a page written from it is still the page).
    book.forget_all_but(names[1:])
    assert book.snapshot()[0] == moved


def test_the_supervisor_tally_counts_actions_and_times_passes() -> None:
    tally = SupervisorTally()
    tally.acted("failover", ok=True)
    tally.acted("failover", ok=False)
    tally.passed(0.02)
    found = exposed(tally.collect())
    assert found["mredis_supervisor_actions_total"] == (
        "counter",
        [({"kind": "failover", "result": "ok"}, 1.0), ({"kind": "failover", "result": "failed"}, 1.0)],
    )
    assert found["mredis_supervisor_pass_duration_seconds"][0] == "histogram"
    assert not [name for name in found if name.endswith("_created")]


def test_the_grafana_dashboard_charts_only_series_the_page_has() -> None:
    dashboard = json.loads((Path(__file__).parents[2] / "deploy" / "grafana" / "managed-redis.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [variable["definition"] for variable in dashboard["templating"]["list"] if "definition" in variable]
    charted = {name for query in queries for name in re.findall(r"\b(m?redis_[a-z_]+)\b", query)}
    every = SupervisorTally()
    every.acted("failover", ok=True)
    every.passed(0.1)
    families = [
        *redis_families([HostSeries(MASTER, up=True, stats=redis_stats(MASTER_INFO))]),
        *redis_families([HostSeries(REPLICA, up=True, stats=redis_stats(REPLICA_INFO))]),
        *operation_families({("cluster.create", "ok"): 1}, {}, {}),
        *every.collect(),
    ]
    exposed_names = set(exposed(families)) | {"mredis_cluster_health"}
    exposed_names |= {f"{name}_bucket" for name in exposed_names}
    assert charted and charted <= exposed_names, charted - exposed_names
    assert {v["name"] for v in dashboard["templating"]["list"]} >= {"cluster_id", "host"}
    assert dashboard["uid"] == "managed-redis"  # Cluster.monitoring links to /d/managed-redis/...
