"""Planned switchover and automatic failover under a writer that never stops."""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis.sentinel

from tests.support.clusters import (
    PASSWORD,
    admin_client,
    client,
    create_cluster,
    hosts_of,
    master_of,
    replicated,
    run,
    sentinels_of,
    wait_alive,
)
from tests.support.processes import pid_of
from tests.support.server import RunningServer, wait_until
from tests.support.writer import Writer


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


# Two hosts with an AOF: the one replica is promoted at once, and the old master, whose data
# is on disk, must come back as its replica (restarted as a master, it took writes for seconds
# that its demotion then threw away).
@pytest.mark.parametrize(("hosts", "persistence"), [(3, "ON"), (2, "ON"), (2, "OFF")])
def test_master_killed_sentinel_promotes_and_supervisor_heals(
    server: RunningServer, network: str, hosts: int, persistence: str
) -> None:
    name = f"failover-auto-{hosts}-{persistence.lower()}"
    cluster = create_cluster(server, name, hosts=hosts, persistenceMode=persistence)
    cluster_id = cluster["id"]
    old_master = master_of(server, cluster_id)
    writer = Writer.through_sentinel(sentinels_of(server, cluster_id), name, PASSWORD).start()
    try:
        wait_until(lambda: len(writer.acked) > 100)
        # Every replica streaming first: writes only the master ever held (a replica still
        # finishing its first sync) are lost to any failover, which is not what this tests.
        replicas = hosts - 1
        replicated(client(old_master), replicas)
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
        wait_alive(server, cluster_id)
        resumed = len(writer.acked)
        wait_until(lambda: len(writer.acked) > resumed + 200, message="writes stopped once the cluster healed")
    finally:
        writer.stop()
    new_master = writer.masters_seen[-1]
    assert new_master != old_master
    assert master_of(server, cluster_id) == new_master
    assert writer.lost(client(new_master)) == [], server.log()[-8000:]
    roles = {h["name"]: h["role"] for h in hosts_of(server, cluster_id)}
    assert roles[new_master] == "MASTER" and roles[old_master] == "REPLICA"
    # The old master came back as a replica and copied everything written meanwhile.
    last_key = writer.acked[-1][0]
    wait_until(lambda: client(old_master).get(last_key) is not None, message="the old master did not resync")


def _replication(host: str) -> dict[str, object]:
    """INFO replication of ``host``; empty while it does not answer (restarting)."""
    try:
        return dict(client(host).info("replication"))
    except redis.RedisError:
        return {}


def _priority(host: str) -> int:
    return int(str(_replication(host).get("slave_priority", -1)))


def _priority_seen_by_sentinels(server: RunningServer, cluster_id: str, name: str, replica: str) -> set[int]:
    seen = set()
    for address in sentinels_of(server, cluster_id):
        sentinel = redis.Redis(host=address[0], port=address[1], socket_timeout=1, decode_responses=True)
        for entry in sentinel.execute_command("SENTINEL", "REPLICAS", name):
            fields = dict(zip(entry[::2], entry[1::2], strict=True)) if isinstance(entry, list) else entry
            if fields.get("ip") == replica:
                seen.add(int(fields["slave-priority"]))
    return seen


def test_a_replica_still_syncing_is_never_promoted_over_the_master_s_writes(
    server: RunningServer, network: str
) -> None:
    """The master dies while its only replica, restarted, is still in its full sync (held here
    by a diskless-sync delay on the master): the replica has replica-priority 0 from its
    start (and the supervisor keeps it there while it is behind), so
    no Sentinel promotes it; the master comes back from its AOF with every acknowledged write,
    the replica catches up and gets its declared priority back."""
    name = "failover-syncing"
    cluster_id = create_cluster(server, name, hosts=2, persistenceMode="ON")["id"]
    master = master_of(server, cluster_id)
    replica = next(h["name"] for h in hosts_of(server, cluster_id) if h["name"] != master)
    writer = Writer.through_sentinel(sentinels_of(server, cluster_id), name, PASSWORD, timeout_s=1).start()
    try:
        wait_until(lambda: len(writer.acked) > 200, message="the writer never got going")
        # The master makes a full sync wait 60 s before it sends anything (live only).
        admin_client(server, master).config_set("repl-diskless-sync", "yes")
        admin_client(server, master).config_set("repl-diskless-sync-delay", "60")
        os.kill(pid_of(network, f"{replica}:6379"), signal.SIGKILL)
        first = wait_until(lambda: _replication(replica), timeout_s=30, message="the replica was not restarted")
        # From its first answer on: a Sentinel asks a restarted replica at once.
        assert int(str(first["slave_priority"])) == 0, first
        wait_until(
            lambda: _replication(replica).get("master_link_down_since_seconds") == -1,
            timeout_s=30,
            message="the replica was not restarted, waiting for its full sync",
        )
        wait_until(lambda: _priority(replica) == 0, timeout_s=30, message="the syncing replica kept its priority")
        wait_until(
            lambda: _priority_seen_by_sentinels(server, cluster_id, name, replica) == {0},
            timeout_s=30,
            message="the Sentinels never saw priority 0",
        )
        os.kill(pid_of(network, f"{master}:6379"), signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(
            lambda: writer.acked and writer.acked[-1][1] > killed_at + 0.5,
            timeout_s=90,
            message="writes did not resume",
        )
        wait_alive(server, cluster_id)
    finally:
        writer.stop()
    assert writer.masters_seen[-1] == master, "the replica that was still syncing was promoted"
    assert writer.lost(client(master)) == [], server.log()[-8000:]
    wait_until(lambda: _priority(replica) == 100, timeout_s=60, message="the replica's priority did not come back")
    last_key = writer.acked[-1][0]
    wait_until(lambda: client(replica).get(last_key) is not None, message="the replica did not catch up")
