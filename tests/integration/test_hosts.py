"""AddHosts, DeleteHosts (including the master) and UpdateHosts on a running cluster."""

from __future__ import annotations

import redis.sentinel

from tests.support.clusters import admin_client, client, create_cluster, hosts_of, master_of, run, wait_alive
from tests.support.processes import redis_processes
from tests.support.server import RunningServer


def test_add_hosts_joins_in_sync_replicas_and_sentinels(server: RunningServer) -> None:
    cluster = create_cluster(server, "hosts-add", hosts=1)
    cluster_id = cluster["id"]
    master = master_of(server, cluster_id)
    client(master).mset({f"before{i}": i for i in range(1000)})
    done = run(
        server,
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchCreate",
        {"hostSpecs": [{"zoneId": "ru-central1-b"}, {"zoneId": "ru-central1-d", "replicaPriority": "50"}]},
    )
    added = done["metadata"]["hostNames"]
    assert len(added) == 2
    hosts = {h["name"]: h for h in hosts_of(server, cluster_id)}
    assert set(hosts) == {master, *added}
    for name in added:
        assert hosts[name]["role"] == "REPLICA" and hosts[name]["health"] == "ALIVE"
        assert client(name).get("before999") == "999"
    assert hosts[added[1]]["replicaPriority"] == "50"
    sentinel = redis.sentinel.Sentinel([(name, 26379) for name in hosts], socket_timeout=1)
    for name in hosts:
        info = admin_client(server, name, port=26379).execute_command("SENTINEL", "MASTER", "hosts-add")
        fields = dict(zip(info[::2], info[1::2], strict=False)) if isinstance(info, list) else info
        assert int(fields["num-slaves"]) == 2 and int(fields["num-other-sentinels"]) == 2
        assert int(fields["quorum"]) == 2
    assert sentinel.discover_master("hosts-add")[0] == master


def test_delete_master_host_switches_over_first(server: RunningServer, network: str) -> None:
    cluster = create_cluster(server, "hosts-delete", hosts=3)
    cluster_id = cluster["id"]
    master = master_of(server, cluster_id)
    client(master).set("kept", "yes")
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchDelete", {"hostNames": [master]})
    hosts = hosts_of(server, cluster_id)
    assert master not in {h["name"] for h in hosts} and len(hosts) == 2
    new_master = master_of(server, cluster_id)
    assert client(new_master).get("kept") == "yes"
    assert not any(f"{master}:" in title for title in redis_processes(network).values())
    sentinel = redis.sentinel.Sentinel([(h["name"], 26379) for h in hosts], socket_timeout=1)
    assert sentinel.discover_master("hosts-delete")[0] == new_master
    wait_alive(server, cluster_id, timeout_s=30)

    last = server.rest(
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchDelete",
        json={"hostNames": [h["name"] for h in hosts]},
    )
    assert last.status_code == 400 and "at least one host" in last.json()["message"]
    assert len(hosts_of(server, cluster_id)) == 2


def test_update_hosts_sets_replica_priority(server: RunningServer) -> None:
    cluster = create_cluster(server, "hosts-update", hosts=2)
    cluster_id = cluster["id"]
    replica = next(h["name"] for h in hosts_of(server, cluster_id) if h["role"] == "REPLICA")
    run(
        server,
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchUpdate",
        {"updateHostSpecs": [{"hostName": replica, "replicaPriority": "0", "updateMask": "replicaPriority"}]},
    )
    assert admin_client(server, replica).config_get("replica-priority") == {"replica-priority": "0"}
    assert {h["name"]: h["replicaPriority"] for h in hosts_of(server, cluster_id)}[replica] == "0"
    # A replica that may never become master leaves no one to switch to.
    failover = server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", json={})
    from tests.support.clusters import wait_operation

    done = wait_operation(server, failover.json())
    assert done["error"]["code"] == 9 and "no healthy replica" in done["error"]["message"]
    public = server.rest(
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchUpdate",
        json={"updateHostSpecs": [{"hostName": replica, "assignPublicIp": True}]},
    )
    assert public.status_code == 400 and "TLS" in public.json()["message"]
