"""Planned switchover and automatic failover under a writer that never stops."""

from __future__ import annotations

import os
import signal
import time

import redis.sentinel

from tests.support.clusters import PASSWORD, client, create_cluster, hosts_of, master_of, run, wait_alive
from tests.support.processes import pid_of
from tests.support.server import RunningServer, wait_until
from tests.support.writer import Writer


def sentinels_of(server: RunningServer, cluster_id: str) -> list[tuple[str, int]]:
    return [(h["name"], 26379) for h in hosts_of(server, cluster_id)]


def test_start_failover_loses_no_acknowledged_write(server: RunningServer) -> None:
    cluster = create_cluster(server, "failover-planned", hosts=3)
    cluster_id = cluster["id"]
    old_master = master_of(server, cluster_id)
    writer = Writer.through_sentinel(sentinels_of(server, cluster_id), "failover-planned", PASSWORD).start()
    try:
        wait_until(lambda: len(writer.acked) > 100, message="the writer never got going")
        started = time.monotonic()
        done = run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", {})
        time.sleep(1.5)
    finally:
        writer.stop()
    assert done["metadata"]["clusterId"] == cluster_id
    new_master = master_of(server, cluster_id)
    assert new_master != old_master
    final = client(new_master)
    assert writer.lost(final) == []
    assert writer.max_gap_s(since=started) < 5  # generous: this is a correctness test; bench/ measures
    assert writer.masters_seen[-1] == new_master
    sentinel = redis.sentinel.Sentinel(sentinels_of(server, cluster_id), socket_timeout=1)
    assert sentinel.discover_master("failover-planned")[0] == new_master
    roles = {h["name"]: h["role"] for h in hosts_of(server, cluster_id)}
    assert roles[old_master] == "REPLICA" and roles[new_master] == "MASTER"


def test_start_failover_to_a_named_host(server: RunningServer) -> None:
    cluster = create_cluster(server, "failover-named", hosts=3)
    cluster_id = cluster["id"]
    master = master_of(server, cluster_id)
    target = next(h["name"] for h in hosts_of(server, cluster_id) if h["name"] != master)
    run(
        server,
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}:startFailover",
        {"hostNames": [target], "failoverType": "SWITCH_TO_HOSTNAMES"},
    )
    assert master_of(server, cluster_id) == target


def test_master_killed_sentinel_promotes_and_supervisor_heals(server: RunningServer, network: str) -> None:
    cluster = create_cluster(server, "failover-auto", hosts=3)
    cluster_id = cluster["id"]
    old_master = master_of(server, cluster_id)
    writer = Writer.through_sentinel(sentinels_of(server, cluster_id), "failover-auto", PASSWORD).start()
    try:
        wait_until(lambda: len(writer.acked) > 100)
        os.kill(pid_of(network, f"{old_master}:6379"), signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(
            lambda: server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()["health"] == "DEGRADED",
            timeout_s=10,
            interval_s=0.05,
            message="the cluster never showed DEGRADED",
        )
        wait_until(
            lambda: writer.acked and writer.acked[-1][1] > killed_at + 0.5,
            timeout_s=30,
            message="writes did not resume through Sentinel",
        )
    finally:
        writer.stop()
    new_master = writer.masters_seen[-1]
    assert new_master != old_master
    wait_alive(server, cluster_id)
    roles = {h["name"]: h["role"] for h in hosts_of(server, cluster_id)}
    assert roles[new_master] == "MASTER" and roles[old_master] == "REPLICA"
    # The old master came back as a replica and copied everything written meanwhile.
    last_key = writer.acked[-1][0]
    wait_until(lambda: client(old_master).get(last_key) is not None, message="the old master did not resync")
