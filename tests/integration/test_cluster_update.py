"""Update in depth: settings Redis takes live, ones that need a restart, resources,
persistence, metadata, renaming; and a create that fails cleanly."""

from __future__ import annotations

import socket
from pathlib import Path

import redis.sentinel

from tests.support.clusters import (
    admin_client,
    client,
    create_body,
    create_cluster,
    hosts_of,
    master_of,
    run,
    wait_operation,
)
from tests.support.processes import redis_processes
from tests.support.server import RunningServer, host_network, running_server, wait_until

GIB = 2**30


def test_restart_needing_setting_rolls_through_hosts_and_keeps_data(server: RunningServer) -> None:
    cluster = create_cluster(server, "update-databases", hosts=3)
    cluster_id = cluster["id"]
    master = master_of(server, cluster_id)
    client(master).mset({f"k{i}": i for i in range(200)})
    run(
        server,
        "PATCH",
        f"/managed-redis/v1/clusters/{cluster_id}",
        {"updateMask": "configSpec.redis.databases", "configSpec": {"redis": {"databases": "32"}}},
    )
    new_master = master_of(server, cluster_id)
    assert new_master != master  # the master was restarted last, after a switchover
    for host in hosts_of(server, cluster_id):
        assert admin_client(server, host["name"]).config_get("databases") == {"databases": "32"}
        wait_until(lambda h=host["name"]: client(h).get("k199") == "199", message=f"{host['name']} lost data")
    got = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()
    assert got["config"]["redis"]["effectiveConfig"]["databases"] == "32" and got["health"] == "ALIVE"


def test_resources_set_maxmemory_and_metadata_is_stored(server: RunningServer) -> None:
    cluster = create_cluster(server, "update-resources", hosts=2)
    cluster_id = cluster["id"]
    for host in hosts_of(server, cluster_id):
        assert admin_client(server, host["name"]).config_get("maxmemory") == {"maxmemory": str(8 * GIB * 75 // 100)}
    body = {
        "updateMask": "configSpec.resources.resourcePresetId,configSpec.redis.maxmemoryPercent,"
        "configSpec.backupWindowStart,configSpec.backupRetainPeriodDays,maintenanceWindow,labels",
        "configSpec": {
            "resources": {"resourcePresetId": "hm1.small"},
            "redis": {"maxmemoryPercent": "50"},
            "backupWindowStart": {"hours": 3, "minutes": 30},
            "backupRetainPeriodDays": "14",
        },
        "maintenanceWindow": {"weeklyMaintenanceWindow": {"day": "TUE", "hour": "4"}},
        "labels": {"team": "cache"},
    }
    updated = run(server, "PATCH", f"/managed-redis/v1/clusters/{cluster_id}", body)["response"]
    for host in hosts_of(server, cluster_id):
        assert admin_client(server, host["name"]).config_get("maxmemory") == {"maxmemory": str(16 * GIB // 2)}
        assert host["resources"]["resourcePresetId"] == "hm1.small"
    assert updated["config"]["backupWindowStart"] == {"hours": 3, "minutes": 30}
    assert updated["config"]["backupRetainPeriodDays"] == "14"
    assert updated["maintenanceWindow"] == {"weeklyMaintenanceWindow": {"day": "TUE", "hour": "4"}}
    assert updated["labels"] == {"team": "cache"}


def test_persistence_modes(server: RunningServer) -> None:
    off = create_cluster(server, "update-persist-off", hosts=2, persistenceMode="OFF")
    for host in hosts_of(server, off["id"]):
        assert admin_client(server, host["name"]).config_get("appendonly") == {"appendonly": "no"}
    on_replicas = create_cluster(server, "update-persist-replicas", hosts=2, persistenceMode="ON_REPLICAS")
    cluster_id = on_replicas["id"]
    roles = {h["name"]: h["role"] for h in hosts_of(server, cluster_id)}
    for name, role in roles.items():
        expected = "yes" if role == "REPLICA" else "no"
        assert admin_client(server, name).config_get("appendonly") == {"appendonly": expected}
    # After a switchover the new roles carry their own persistence.
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", {})
    for host in hosts_of(server, cluster_id):
        expected = "yes" if host["role"] == "REPLICA" else "no"
        wait_until(
            lambda h=host["name"], e=expected: admin_client(server, h).config_get("appendonly")["appendonly"] == e
        )
    # And the mode itself can change, live.
    run(
        server,
        "PATCH",
        f"/managed-redis/v1/clusters/{cluster_id}",
        {"updateMask": "persistenceMode", "persistenceMode": "ON"},
    )
    for host in hosts_of(server, cluster_id):
        assert admin_client(server, host["name"]).config_get("appendonly") == {"appendonly": "yes"}


def test_rename_moves_the_sentinel_master_name(server: RunningServer) -> None:
    cluster = create_cluster(server, "update-old-name", hosts=2)
    cluster_id = cluster["id"]
    renamed = run(
        server, "PATCH", f"/managed-redis/v1/clusters/{cluster_id}", {"updateMask": "name", "name": "update-new-name"}
    )
    assert renamed["response"]["name"] == "update-new-name"
    sentinel = redis.sentinel.Sentinel([(h["name"], 26379) for h in hosts_of(server, cluster_id)], socket_timeout=1)
    assert sentinel.discover_master("update-new-name")[0] == master_of(server, cluster_id)
    try:
        sentinel.discover_master("update-old-name")
        raise AssertionError("the old name is still monitored")
    except redis.sentinel.MasterNotFoundError:
        pass


def test_failed_create_leaves_error_status_and_no_process(tmp_path: Path) -> None:
    network = host_network()
    first_address = network.rsplit(".", 2)[0] + "." + network.split(".")[2] + ".1"
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind((first_address, 6379))
    blocker.listen()
    try:
        with running_server(tmp_path / "data", env={"MREDIS_HOST_NETWORK": network}) as server:
            response = server.rest("POST", "/managed-redis/v1/clusters", json=create_body("doomed", hosts=2))
            done = wait_operation(server, response.json())
            assert done["error"]["code"] == 13
            assert first_address in done["error"]["message"] and "redis.log" in done["error"]["message"]
            cluster_id = done["metadata"]["clusterId"]
            got = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()
            assert got["status"] == "ERROR"
            assert redis_processes(network) == {}
            # An ERROR cluster can still be deleted.
            run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")
    finally:
        blocker.close()
