"""Version upgrade 7.0 -> 8.1-valkey (Update with ``config_spec.version``) under a writer:
every process ends on the valkey-server binary, no acknowledged write is lost, clients keep
the addresses they had; a downgrade or an unknown version is refused and changes nothing."""

from __future__ import annotations

import os
import time
from typing import Any

import redis
import redis.sentinel

from tests.integration.test_sharded import create_sharded
from tests.support.cluster_clients import CheckingWriter, cluster_client
from tests.support.clusters import PASSWORD, admin_client, client, create_cluster, hosts_of, master_of, run
from tests.support.processes import redis_processes
from tests.support.server import RunningServer, json_object, wait_until
from tests.support.writer import Writer

OLD, NEW, NEW_FULL = "7.0", "8.1-valkey", "8.1.8"
KEYS = 3000
UPGRADE = {"updateMask": "configSpec.version", "configSpec": {"version": NEW}}


def processes_of(network: str, hosts: list[dict[str, Any]]) -> dict[str, str]:
    """``address:port`` -> the binary running it (``/proc/<pid>/exe``), for every Redis and
    Sentinel process of ``hosts``."""
    addresses = {h["name"] for h in hosts}
    found = {}
    for pid, title in redis_processes(network).items():
        for word in title.split():
            if word.rsplit(":", 1)[0] in addresses:
                found[word] = os.readlink(f"/proc/{pid}/exe")
    return found


def operations_of(server: RunningServer, cluster_id: str) -> list[str]:
    reply = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}/operations"))
    return [operation["id"] for operation in reply.get("operations", [])]


def fill(target: redis.Redis, prefix: str) -> None:
    for start in range(0, KEYS, 500):
        target.mset({f"{prefix}:{n}": n for n in range(start, start + 500)})


def assert_runs_valkey(server: RunningServer, network: str, cluster_id: str, sentinels: bool) -> None:
    hosts = hosts_of(server, cluster_id)
    running = processes_of(network, hosts)
    expected = {f"{h['name']}:6379" for h in hosts} | ({f"{h['name']}:26379" for h in hosts} if sentinels else set())
    assert set(running) == expected, running
    assert all(binary.endswith("/valkey-server") for binary in running.values()), running
    for host in hosts:
        info = admin_client(server, host["name"]).info("server")
        assert info["server_name"] == "valkey" and info["valkey_version"] == NEW_FULL, info
    got = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}"))
    assert got["config"]["version"] == NEW and got["config"]["fullVersion"] == NEW_FULL, got["config"]


def upgrade_while_writing(server: RunningServer, cluster_id: str, writer: Writer | CheckingWriter) -> float:
    """Upgrade the cluster once ``writer`` is writing, until it has written 200 more after;
    stops the writer. Returns when the upgrade began (time.monotonic)."""
    try:
        wait_until(lambda: len(writer.acked) > 200, message="the writer wrote nothing")
        started = time.monotonic()
        run(server, "PATCH", f"/managed-redis/v1/clusters/{cluster_id}", UPGRADE)
        done = len(writer.acked)
        wait_until(lambda: len(writer.acked) > done + 200, message="no write acknowledged after the upgrade")
    finally:
        writer.stop()
    return started


def upgrade_sentinel_cluster(server: RunningServer, network: str, name: str, hosts: int, persistence: str) -> None:
    cluster = create_cluster(server, name, hosts=hosts, persistenceMode=persistence, configSpec=_config_spec(OLD))
    cluster_id = cluster["id"]
    assert cluster["config"]["fullVersion"].startswith("7.0.")
    fill(client(master_of(server, cluster_id)), "data")
    sentinels = [(h["name"], 26379) for h in hosts_of(server, cluster_id)]
    writer = Writer.through_sentinel(sentinels, name, PASSWORD, prefix=f"{name}-w").start()
    # The same writer (same Sentinels, same master name) goes on writing after the upgrade.
    started = upgrade_while_writing(server, cluster_id, writer)
    print(f"\n{name}: longest write gap {writer.max_gap_s(since=started):.3f} s, masters {writer.masters_seen}")
    assert_runs_valkey(server, network, cluster_id, sentinels=True)
    master = master_of(server, cluster_id)
    assert writer.lost(client(master)) == []
    for host in hosts_of(server, cluster_id):
        wait_until(
            lambda h=host["name"]: client(h).mget([f"data:{n}" for n in range(KEYS)]) == [str(n) for n in range(KEYS)],
            message=f"{host['name']} lost data",
        )
    seen = redis.sentinel.Sentinel(sentinels, socket_timeout=1).discover_master(name)
    assert seen[0] == master


def _config_spec(version: str) -> dict[str, Any]:
    return {"version": version, "resources": {"resourcePresetId": "hm1.nano"}, "redis": {"password": PASSWORD}}


def test_three_hosts_with_persistence_upgrade_under_a_writer(server: RunningServer, network: str) -> None:
    upgrade_sentinel_cluster(server, network, "upgrade-three", hosts=3, persistence="ON")


def test_two_hosts_without_persistence_keep_their_data(server: RunningServer, network: str) -> None:
    upgrade_sentinel_cluster(server, network, "upgrade-two-off", hosts=2, persistence="OFF")


def test_sharded_cluster_upgrades_shard_by_shard(server: RunningServer, network: str) -> None:
    cluster = create_sharded(server, "upgrade-sharded", configSpec=_config_spec(OLD))
    cluster_id = cluster["id"]
    any_host = hosts_of(server, cluster_id)[0]["name"]
    pipe = cluster_client(any_host).pipeline(transaction=False)
    for number in range(KEYS):
        pipe.set(f"data:{number}", number)
    pipe.execute()
    writer = CheckingWriter(any_host).start()
    started = upgrade_while_writing(server, cluster_id, writer)
    assert_runs_valkey(server, network, cluster_id, sentinels=False)
    assert writer.lost() == [] and writer.wrong == []
    values = cluster_client(any_host).mget_nonatomic([f"data:{n}" for n in range(KEYS)])
    assert values == [str(n) for n in range(KEYS)]
    print(f"\nupgrade-sharded: longest write gap {writer.max_gap_s(since=started):.3f} s, {writer.errors} errors")


def test_downgrade_and_unknown_version_are_refused_and_change_nothing(server: RunningServer, network: str) -> None:
    cluster = create_cluster(server, "upgrade-refused", hosts=1, configSpec=_config_spec(NEW))
    cluster_id = cluster["id"]
    before = processes_of(network, hosts_of(server, cluster_id))
    operations = operations_of(server, cluster_id)
    for version, why in ((OLD, "cannot go from 8.1-valkey to 7.0"), ("9.9-valkey", "'9.9-valkey' not found")):
        body = {"updateMask": "configSpec.version", "configSpec": {"version": version}}
        response = server.rest("PATCH", f"/managed-redis/v1/clusters/{cluster_id}", json=body)
        assert response.status_code == 400, response.text
        error = response.json()
        assert error["code"] == 3 and "config_spec.version" in error["message"] and why in error["message"], error
        assert "may move to: none" in error["message"], error
    got = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}"))
    assert got["status"] == "RUNNING" and got["config"]["version"] == NEW
    assert operations_of(server, cluster_id) == operations  # none was started
    assert processes_of(network, hosts_of(server, cluster_id)) == before
