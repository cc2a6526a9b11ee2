"""``GET /metrics`` as Prometheus scrapes it: the Redis exporter's series for each host of a
cluster (with Sentinel, and sharded), with its labels, following what is written to it; the
control plane's own series; a token as on every call, and only what the caller may read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.support.clusters import FOLDER, PASSWORD, create_body, create_cluster, hosts_of, run
from tests.support.processes import kill_all
from tests.support.server import RunningServer, host_network, json_object, running_server, wait_until, write_tokens

OTHER_FOLDER = "b1gotherfolder000002"
TOKENS = {"viewer": "metrics-viewer-token-01", "outsider": "metrics-outsider-token-1"}
KEYS = 300


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("metrics")
    write_tokens(
        data_dir,
        [
            {"subject": "viewer", "token": TOKENS["viewer"], "roles": {FOLDER: ["managed-redis.viewer"]}},
            {"subject": "outsider", "token": TOKENS["outsider"], "roles": {OTHER_FOLDER: ["managed-redis.admin"]}},
        ],
    )
    network = host_network()
    # Each host's load is read every second here (12 s by default), so a write shows soon.
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_METRICS_PERIOD_S": "1"}
    try:
        with running_server(data_dir, env=env) as running:
            yield running
    finally:
        kill_all(network)


@pytest.fixture(scope="module")
def cluster(server: RunningServer) -> dict[str, str]:
    created = create_cluster(server, "metered", hosts=3)
    return {"id": created["id"], "name": created["name"]}


def scrape(server: RunningServer, token: str | None = "admin") -> dict[str, list[Sample]]:
    """Metric name (as the page writes it) -> its samples, as prometheus_client's parser reads the page."""
    response = server.rest("GET", "/metrics", token=token)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain"), response.headers
    families = text_string_to_metric_families(response.text)
    # The parser names a counter family without its _total, as OpenMetrics does.
    return {f.name + ("_total" if f.type == "counter" else ""): f.samples for f in families}


def of_cluster(samples: list[Sample], cluster_id: str, **labels: str) -> list[Sample]:
    return [s for s in samples if s.labels.get("cluster_id") == cluster_id and labels.items() <= s.labels.items()]


def test_each_host_has_the_exporter_series_with_its_labels(server: RunningServer, cluster: dict[str, str]) -> None:
    hosts = {h["name"]: h for h in hosts_of(server, cluster["id"])}

    def every_host_loaded() -> dict[str, list[Sample]]:
        families = scrape(server)
        up = of_cluster(families["redis_up"], cluster["id"])
        clients = of_cluster(families["redis_connected_clients"], cluster["id"])
        ready = len(up) == 3 and all(s.value == 1 for s in up) and len(clients) == 3
        return families if ready else {}

    families = wait_until(every_host_loaded, timeout_s=60, message="not every host is up with its load")
    for sample in of_cluster(families["redis_up"], cluster["id"]):
        host = hosts[sample.labels["host"]]
        assert sample.labels == {
            "cluster_id": cluster["id"],
            "cluster_name": cluster["name"],
            "folder_id": FOLDER,
            "shard": host["shardName"],
            "host": host["name"],
            "role": host["role"].lower(),
        }
    for name in (
        "redis_memory_used_bytes",
        "redis_memory_max_bytes",
        "redis_connected_clients",
        "redis_uptime_in_seconds",
    ):
        found = of_cluster(families[name], cluster["id"])
        assert {s.labels["host"] for s in found} == set(hosts), name
    assert all(s.value > 0 for s in of_cluster(families["redis_memory_used_bytes"], cluster["id"]))
    master = of_cluster(families["redis_connected_slaves"], cluster["id"], role="master")
    assert [s.value for s in master] == [2]
    lags = of_cluster(families["redis_connected_slave_lag_seconds"], cluster["id"], role="master")
    assert len(lags) == 2 and all(s.labels["slave_state"] == "online" for s in lags)
    links = of_cluster(families["redis_master_link_up"], cluster["id"], role="replica")
    assert [s.value for s in links] == [1, 1]


def test_series_follow_what_is_written(server: RunningServer, cluster: dict[str, str]) -> None:
    before = wait_until(lambda: _loaded(scrape(server), cluster["id"]), timeout_s=60)
    master = next(h["name"] for h in hosts_of(server, cluster["id"]) if h["role"] == "MASTER")
    with redis.Redis(host=master, password=PASSWORD) as client:
        client.mset({f"metered:{i}": "x" * 512 for i in range(KEYS)})
        for i in range(50):
            client.get(f"metered:{i}")
            client.get(f"absent:{i}")

    def written() -> dict[str, list[Sample]]:
        families = scrape(server)
        keys = of_cluster(families["redis_db_keys"], cluster["id"], db="db0")
        return families if len(keys) == 3 and all(s.value == KEYS for s in keys) else {}

    after = wait_until(written, timeout_s=60, message="redis_db_keys did not show the keys on every host")

    def value(families: dict[str, list[Sample]], name: str) -> float:
        return sum(s.value for s in of_cluster(families[name], cluster["id"], host=master))

    assert value(after, "redis_commands_processed_total") > value(before, "redis_commands_processed_total")
    assert value(after, "redis_memory_used_bytes") > value(before, "redis_memory_used_bytes") + KEYS * 512 / 2
    assert value(after, "redis_keyspace_hits_total") >= value(before, "redis_keyspace_hits_total") + 50
    assert value(after, "redis_keyspace_misses_total") >= value(before, "redis_keyspace_misses_total") + 50


def _loaded(families: dict[str, list[Sample]], cluster_id: str) -> dict[str, list[Sample]]:
    return families if len(of_cluster(families["redis_commands_processed_total"], cluster_id)) == 3 else {}


def test_control_plane_series_after_an_operation(server: RunningServer, cluster: dict[str, str]) -> None:
    families = scrape(server)
    created = [s for s in families["mredis_operations_total"] if s.labels == {"type": "cluster.create", "result": "ok"}]
    assert created and created[0].value >= 1
    durations = {
        s.name: s for s in families["mredis_operation_duration_seconds"] if s.labels["type"] == "cluster.create"
    }
    assert durations["mredis_operation_duration_seconds_count"].value >= 1
    assert durations["mredis_operation_duration_seconds_sum"].value > 0
    health = wait_until(
        lambda: [s for s in of_cluster(scrape(server)["mredis_cluster_health"], cluster["id"]) if s.value == 1],
        timeout_s=30,
    )
    assert [s.labels["health"] for s in health] == ["ALIVE"]
    passes = {s.name: s.value for s in families["mredis_supervisor_pass_duration_seconds"]}
    assert passes["mredis_supervisor_pass_duration_seconds_count"] > 0


def test_a_token_is_needed(server: RunningServer) -> None:
    for token in (None, "not-a-token"):
        response = server.rest("GET", "/metrics", token=token)
        assert response.status_code == 401, response.text
        assert json_object(response)["code"] == 16


def test_a_caller_sees_only_the_clusters_it_may_read(server: RunningServer, cluster: dict[str, str]) -> None:
    wait_until(lambda: _loaded(scrape(server), cluster["id"]), timeout_s=60)
    viewer = scrape(server, TOKENS["viewer"])
    assert len(of_cluster(viewer["redis_up"], cluster["id"])) == 3
    assert [s.labels["type"] for s in viewer["mredis_operations_total"]] == ["cluster.create"]
    # The supervisor's tallies concern every folder: a viewer of one does not see them.
    assert "mredis_supervisor_pass_duration_seconds" not in viewer
    outsider = scrape(server, TOKENS["outsider"])
    assert not of_cluster(outsider["redis_up"], cluster["id"])
    assert not of_cluster(outsider["mredis_cluster_health"], cluster["id"])
    assert not outsider["mredis_operations_total"]


def test_a_sharded_cluster_has_each_shard_s_hosts_under_their_shard(server: RunningServer) -> None:
    body = create_body("metered-shards", hosts=6, sharded=True)
    for index, host in enumerate(body["hostSpecs"]):
        host["shardName"] = f"s{index // 2 + 1}"
    cluster_id = run(server, "POST", "/managed-redis/v1/clusters", body)["response"]["id"]
    hosts = {h["name"]: h for h in hosts_of(server, cluster_id)}

    def loaded() -> dict[str, list[Sample]]:
        families = scrape(server)
        clients = of_cluster(families["redis_connected_clients"], cluster_id)
        return families if len(clients) == 6 else {}

    families = wait_until(loaded, timeout_s=60, message="not every shard's host has its load")
    up = of_cluster(families["redis_up"], cluster_id)
    assert sorted((s.labels["shard"], s.labels["role"], s.value) for s in up) == [
        (shard, role, 1.0) for shard in ("s1", "s2", "s3") for role in ("master", "replica")
    ]
    assert all(hosts[s.labels["host"]]["shardName"] == s.labels["shard"] for s in up)
    masters = of_cluster(families["redis_connected_slaves"], cluster_id, role="master")
    assert sorted(s.value for s in masters) == [1, 1, 1]
