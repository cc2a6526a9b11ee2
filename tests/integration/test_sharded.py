"""Sharded clusters on Redis Cluster, driven over REST and checked with RedisCluster."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

from tests.support.cluster_clients import CheckingWriter, cluster_client, slot_ranges
from tests.support.clusters import admin_client, create_body, hosts_of, run, wait_alive
from tests.support.processes import pid_of
from tests.support.server import RunningServer, wait_until
from tests.support.versions import requires_tls

KEYS = 100_000


def sharded_body(name: str, shards: int, per_shard: int = 2, **extra: Any) -> dict[str, Any]:
    body = create_body(name, hosts=shards * per_shard, sharded=True, **extra)
    for index, host in enumerate(body["hostSpecs"]):
        host["shardName"] = f"s{index // per_shard + 1}"
    return body


def create_sharded(
    server: RunningServer, name: str, shards: int = 3, per_shard: int = 2, **extra: Any
) -> dict[str, Any]:
    done = run(server, "POST", "/managed-redis/v1/clusters", sharded_body(name, shards, per_shard, **extra))
    cluster: dict[str, Any] = done["response"]
    return cluster


def masters_by_shard(server: RunningServer, cluster_id: str) -> dict[str, str]:
    return {h["shardName"]: h["name"] for h in hosts_of(server, cluster_id) if h.get("role") == "MASTER"}


def slot_counts(server: RunningServer, cluster_id: str) -> dict[str, int]:
    any_host = hosts_of(server, cluster_id)[0]["name"]
    counts: dict[str, int] = {}
    client = cluster_client(any_host)
    for (first, last), info in slot_ranges(client).items():
        master = info["primary"][0]
        counts[master] = counts.get(master, 0) + last - first + 1
    return counts


def all_ok(server: RunningServer, cluster_id: str) -> bool:
    """Every node says the cluster is ok and knows a live owner for every slot."""
    infos = [admin_client(server, h["name"]).execute_command("CLUSTER", "INFO") for h in hosts_of(server, cluster_id)]
    return all("cluster_state:ok" in info and "cluster_slots_ok:16384" in info for info in infos)


def fill(client: redis.Redis | RedisCluster, count: int, prefix: str = "k") -> None:
    pipe = client.pipeline(transaction=False)
    for number in range(count):
        pipe.set(f"{prefix}:{number}", number)
        if len(pipe) >= 2000:
            pipe.execute()
    pipe.execute()


def check_all(client: RedisCluster, count: int, prefix: str = "k") -> list[str]:
    keys = [f"{prefix}:{n}" for n in range(count)]
    values = client.mget_nonatomic(keys)
    return [key for key, value in zip(keys, values, strict=True) if value != key.split(":")[1]]


def test_create_three_shards(server: RunningServer) -> None:
    cluster = create_sharded(server, "sharded-basic")
    assert cluster["sharded"] is True and cluster["status"] == "RUNNING" and cluster["health"] == "ALIVE"
    assert all_ok(server, cluster["id"])  # the moment the operation is done, not eventually
    hosts = hosts_of(server, cluster["id"])
    assert {h["shardName"] for h in hosts} == {"s1", "s2", "s3"}
    assert all(h["services"] == [{"type": "REDIS_CLUSTER", "health": "ALIVE"}] for h in hosts)
    assert sorted(slot_counts(server, cluster["id"]).values()) == [5461, 5461, 5462]
    client = cluster_client(hosts[0]["name"])
    fill(client, KEYS)
    assert check_all(client, KEYS) == []
    # Each node announces its own address, and replicas are attached to their shard's master.
    nodes = client.cluster_nodes()
    assert set(address.split(":")[0] for address in nodes) == {h["name"] for h in hosts}
    for host in hosts:  # and no node keeps a half-finished handshake around
        info = admin_client(server, host["name"]).execute_command("CLUSTER", "INFO")
        assert f"cluster_known_nodes:{len(hosts)}" in info
    shards = server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}/shards").json()["shards"]
    assert [s["name"] for s in shards] == ["s1", "s2", "s3"]
    got = server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}/shards/s2").json()
    assert got == {"name": "s2", "clusterId": cluster["id"], "isHa": True}  # two hosts in two zones


def test_add_shard_rebalance_and_delete_shard_online(server: RunningServer) -> None:
    cluster = create_sharded(server, "sharded-grow")
    cluster_id = cluster["id"]
    first_host = masters_by_shard(server, cluster_id)["s1"]  # s2 goes away below
    fill(cluster_client(first_host), KEYS)
    writer = CheckingWriter(first_host).start()
    try:
        wait_until(lambda: len(writer.acked) > 200)
        added = run(
            server,
            "POST",
            f"/managed-redis/v1/clusters/{cluster_id}/shards",
            {"shardName": "s4", "hostSpecs": [{"zoneId": "ru-central1-a"}, {"zoneId": "ru-central1-b"}]},
        )
        assert added["response"] == {
            "@type": "type.googleapis.com/yandex.cloud.mdb.redis.v1.Shard",
            "name": "s4",
            "clusterId": cluster_id,
        }
        counts = slot_counts(server, cluster_id)
        assert len(counts) == 3  # a new shard holds no slots until a rebalance
        run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:rebalance")
        counts = slot_counts(server, cluster_id)
        assert len(counts) == 4 and max(counts.values()) - min(counts.values()) <= 1
        run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}/shards/s2")
        time.sleep(0.5)
    finally:
        writer.stop()
    counts = slot_counts(server, cluster_id)
    assert len(counts) == 3 and max(counts.values()) - min(counts.values()) <= 1
    assert {h["shardName"] for h in hosts_of(server, cluster_id)} == {"s1", "s3", "s4"}
    assert writer.wrong == [] and writer.lost() == []
    assert check_all(cluster_client(first_host), KEYS) == []
    assert all_ok(server, cluster_id)
    last = server.rest("DELETE", f"/managed-redis/v1/clusters/{cluster_id}/shards/nope")
    assert last.status_code == 404


def test_master_killed_writes_resume(server: RunningServer, network: str) -> None:
    cluster = create_sharded(server, "sharded-kill")
    cluster_id = cluster["id"]
    first_host = hosts_of(server, cluster_id)[0]["name"]
    victim = masters_by_shard(server, cluster_id)["s2"]
    writer = CheckingWriter(first_host).start()
    try:
        wait_until(lambda: len(writer.acked) > 200)
        os.kill(pid_of(network, f"{victim}:6379"), signal.SIGKILL)
        killed = len(writer.acked)
        wait_until(lambda: len(writer.acked) > killed + 2000, timeout_s=60, message="writes did not resume")
    finally:
        writer.stop()
    assert writer.wrong == []
    new_master = masters_by_shard(server, cluster_id)["s2"]
    assert new_master != victim
    wait_alive(server, cluster_id)
    roles = {h["name"]: h["role"] for h in hosts_of(server, cluster_id)}
    assert roles[victim] == "REPLICA"
    assert all_ok(server, cluster_id)


def test_planned_failover_per_shard(server: RunningServer) -> None:
    cluster = create_sharded(server, "sharded-failover")
    cluster_id = cluster["id"]
    before = masters_by_shard(server, cluster_id)
    first_host = hosts_of(server, cluster_id)[0]["name"]
    writer = CheckingWriter(first_host).start()
    try:
        wait_until(lambda: len(writer.acked) > 200)
        run(
            server,
            "POST",
            f"/managed-redis/v1/clusters/{cluster_id}:startFailover",
            {"hostNames": [before["s1"], before["s3"]]},
        )
        assert all_ok(server, cluster_id)
        time.sleep(0.5)
    finally:
        writer.stop()
    after = masters_by_shard(server, cluster_id)
    assert after["s1"] != before["s1"] and after["s3"] != before["s3"] and after["s2"] == before["s2"]
    assert writer.wrong == [] and writer.lost() == []
    refused = server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", json={})
    assert refused.status_code == 400 and "host_names" in refused.json()["message"]


def test_hosts_per_shard(server: RunningServer) -> None:
    cluster = create_sharded(server, "sharded-hosts", shards=3, per_shard=1)
    cluster_id = cluster["id"]
    client = cluster_client(hosts_of(server, cluster_id)[0]["name"])
    fill(client, 5000)
    done = run(
        server,
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchCreate",
        {"hostSpecs": [{"zoneId": "ru-central1-b", "shardName": "s2"}]},
    )
    new_host = done["metadata"]["hostNames"][0]
    hosts = {h["name"]: h for h in hosts_of(server, cluster_id)}
    assert hosts[new_host]["shardName"] == "s2" and hosts[new_host]["role"] == "REPLICA"
    missing = server.rest(
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchCreate",
        json={"hostSpecs": [{"zoneId": "ru-central1-b"}]},
    )
    assert missing.status_code == 400 and "shard_name" in missing.json()["message"]
    master = masters_by_shard(server, cluster_id)["s2"]
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchDelete", {"hostNames": [master]})
    assert masters_by_shard(server, cluster_id)["s2"] == new_host
    fresh = cluster_client(new_host)  # the old client's node map still names the removed host
    assert check_all(fresh, 5000) == [] and all_ok(server, cluster_id)
    alone = server.rest(
        "POST", f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchDelete", json={"hostNames": [new_host]}
    )
    assert alone.status_code == 400 and "DeleteShard" in alone.json()["message"]


def test_enable_sharding_keeps_every_key(server: RunningServer) -> None:
    body = create_body("to-be-sharded", hosts=2)
    cluster = run(server, "POST", "/managed-redis/v1/clusters", body)["response"]
    cluster_id = cluster["id"]
    from tests.support.clusters import client, master_of

    plain = client(master_of(server, cluster_id))
    fill(plain, 20_000)
    done = run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:enable_sharding")
    assert done["response"]["sharded"] is True
    hosts = hosts_of(server, cluster_id)
    assert {h["shardName"] for h in hosts} == {"shard1"} and all(
        h["services"][0]["type"] == "REDIS_CLUSTER" for h in hosts
    )
    sharded = cluster_client(hosts[0]["name"])
    assert check_all(sharded, 20_000) == []
    assert slot_counts(server, cluster_id) == {masters_by_shard(server, cluster_id)["shard1"]: 16384}
    again = server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:enable_sharding")
    assert again.status_code == 400 and "sharded already" in again.json()["message"]
    last = server.rest("DELETE", f"/managed-redis/v1/clusters/{cluster_id}/shards/shard1")
    assert last.status_code == 400 and "last shard" in last.json()["message"]


def test_stop_start_and_backup_restore_keep_every_key(server: RunningServer) -> None:
    cluster = create_sharded(server, "sharded-data")
    cluster_id = cluster["id"]
    client = cluster_client(hosts_of(server, cluster_id)[0]["name"])
    fill(client, 30_000)
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:stop")
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:start")
    wait_until(lambda: all_ok(server, cluster_id), timeout_s=30)
    client = cluster_client(hosts_of(server, cluster_id)[0]["name"])
    assert check_all(client, 30_000) == []

    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:backup")
    backup = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}/backups").json()["backups"][0]
    assert sorted(backup["sourceShardNames"]) == ["s1", "s2", "s3"]
    body = sharded_body("sharded-restored", 3, 1)
    body.pop("folderId")
    body["backupId"] = backup["id"]
    restored = run(server, "POST", "/managed-redis/v1/clusters:restore", body)["response"]
    new_client = cluster_client(hosts_of(server, restored["id"])[0]["name"])
    assert check_all(new_client, 30_000) == []
    assert sorted(slot_counts(server, restored["id"]).values()) == sorted(slot_counts(server, cluster_id).values())
    assert all_ok(server, restored["id"])


def test_every_process_restarted_cluster_heals(server: RunningServer, network: str) -> None:
    cluster = create_sharded(server, "sharded-reboot", shards=3, per_shard=2)
    cluster_id = cluster["id"]
    hosts = hosts_of(server, cluster_id)
    fill(cluster_client(hosts[0]["name"]), 10_000)
    time.sleep(1.5)  # appendfsync everysec
    names = {h["name"] for h in hosts}
    from tests.support.processes import redis_processes

    for pid, title in redis_processes(network).items():
        if any(f"{name}:6379" in title.split() for name in names):
            os.kill(pid, signal.SIGKILL)
    wait_alive(server, cluster_id, timeout_s=90, message="the cluster did not come back")
    wait_until(lambda: all_ok(server, cluster_id), timeout_s=60)
    client = cluster_client(hosts[0]["name"])
    assert check_all(client, 10_000) == []
    announced = {address.split(":")[0] for address in client.cluster_nodes()}
    assert announced == names  # no stale or foreign addresses


@requires_tls
@pytest.mark.parametrize("shards", [3])
def test_tls_sharded_cluster(server: RunningServer, shards: int) -> None:
    cluster = create_sharded(server, "sharded-tls", shards=shards, per_shard=1, tlsEnabled=True)
    host = hosts_of(server, cluster["id"])[0]["name"]
    from redis.cluster import RedisCluster

    from tests.support.clusters import PASSWORD

    client = RedisCluster(
        host=host,
        port=6380,
        password=PASSWORD,
        ssl=True,
        ssl_ca_certs=str(server.data_dir / "tls" / "ca.pem"),
        decode_responses=True,
    )
    fill(client, 3000)
    assert check_all(client, 3000) == []
    assert {int(address.split(":")[1]) for address in client.cluster_nodes()} == {6380}
