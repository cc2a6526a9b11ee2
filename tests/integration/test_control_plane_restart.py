"""Redis outlives the control plane: a restart leaves clients undisturbed, and after a
"reboot" (every Redis process gone) the next start brings the cluster back with its data."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.clusters import client, create_cluster, hosts_of, master_of, wait_alive
from tests.support.processes import kill_all, redis_processes
from tests.support.server import host_network, running_server, wait_until


def test_restart_and_reboot(tmp_path: Path) -> None:
    network = host_network()
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_SENTINEL_DOWN_AFTER_S": "2"}
    data_dir = tmp_path / "data"
    try:
        with running_server(data_dir, env=env) as first:
            cluster = create_cluster(first, "restart-cluster", hosts=2)
            cluster_id = cluster["id"]
            master = master_of(first, cluster_id)
        processes_before = redis_processes(network)
        assert len(processes_before) == 4  # two redis-servers, two sentinels

        connection = client(master)
        connection.set("written-before", "1")
        with running_server(data_dir, env=env) as second:
            got = second.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()
            # What the first control plane saw is not vouched for until the second looks.
            assert got["status"] == "RUNNING" and got.get("health", "HEALTH_UNKNOWN") in ("HEALTH_UNKNOWN", "ALIVE")
            wait_alive(second, cluster_id)
            connection.set("written-during", "2")  # the same connection, never dropped
            assert connection.client_id() == connection.client_id()
            time.sleep(2)  # the supervisor runs in the meantime and must leave everything alone
            assert redis_processes(network) == processes_before
            connection.mset({f"k{i}": i for i in range(500)})
        time.sleep(1.5)  # appendfsync everysec: let the last second reach the disk
        kill_all(network)
        assert not redis_processes(network)

        with running_server(data_dir, env=env) as third:
            # Not the ALIVE the second control plane last saw: unknown until the third looks.
            assert third.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json().get("health") != "ALIVE"
            wait_alive(third, cluster_id, message="the cluster did not come back after every process was gone")
            assert master_of(third, cluster_id) == master
            for host in hosts_of(third, cluster_id):
                wait_until(lambda h=host["name"]: client(h).get("k499") == "499", message=f"{host} lost data")
            assert client(master).get("written-before") == "1" and client(master).get("written-during") == "2"
    finally:
        kill_all(network)
