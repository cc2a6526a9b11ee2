"""Non-sharded clusters of real Redis: create, replicate, discover, stop/start, update, delete."""

from __future__ import annotations

import re

import redis
import redis.sentinel

from tests.support.clusters import (
    FOLDER,
    PASSWORD,
    admin_client,
    client,
    create_cluster,
    hosts_of,
    master_of,
    run,
    wait_operation,
)
from tests.support.processes import redis_processes
from tests.support.server import RunningServer, wait_until


def test_create_gives_a_master_two_replicas_and_sentinels(server: RunningServer, network: str) -> None:
    cluster = create_cluster(server, "lifecycle-basic", hosts=3)
    assert cluster["status"] == "RUNNING" and cluster["health"] == "ALIVE"
    hosts = hosts_of(server, cluster["id"])
    assert sorted(h["role"] for h in hosts) == ["MASTER", "REPLICA", "REPLICA"]
    for host in hosts:
        assert host["health"] == "ALIVE"
        assert [s["type"] for s in host["services"]] == ["REDIS", "ARBITER"]
        assert all(s["health"] == "ALIVE" for s in host["services"])
    master = master_of(server, cluster["id"])
    client(master).set("greeting", "hello")
    for host in hosts:
        wait_until(lambda h=host: client(h["name"]).get("greeting") == "hello", message="replica lacks the key")

    sentinel = redis.sentinel.Sentinel([(h["name"], 26379) for h in hosts], socket_timeout=1)
    assert sentinel.discover_master("lifecycle-basic") == (master, 6379)
    assert sorted(sentinel.discover_slaves("lifecycle-basic")) == sorted(
        (h["name"], 6379) for h in hosts if h["name"] != master
    )
    via_sentinel = sentinel.master_for("lifecycle-basic", password=PASSWORD, socket_timeout=2)
    via_sentinel.set("through-sentinel", "1")
    assert client(master).get("through-sentinel") == "1"

    # Every process binds only its own address and needs a password.
    titles = redis_processes(network).values()
    assert sum(1 for t in titles if "[sentinel]" in t and any(h["name"] in t for h in hosts)) == 3
    try:
        redis.Redis(host=master, port=6379, socket_timeout=2).get("greeting")
        raise AssertionError("a client without a password was let in")
    except redis.AuthenticationError:
        pass
    # The customer's user may not reconfigure Redis.
    try:
        client(master).config_get("maxmemory")
        raise AssertionError("the default user ran CONFIG")
    except redis.exceptions.NoPermissionError:
        pass


def test_get_and_list_never_return_the_password(server: RunningServer) -> None:
    cluster = create_cluster(server, "lifecycle-secret", hosts=1)
    got = server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}")
    assert got.status_code == 200 and PASSWORD not in got.text
    listed = server.rest("GET", f"/managed-redis/v1/clusters?folderId={FOLDER}&filter=name%3D%22lifecycle-secret%22")
    assert [c["id"] for c in listed.json()["clusters"]] == [cluster["id"]]
    assert PASSWORD not in listed.text
    operations = server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}/operations").text
    assert PASSWORD not in operations and "Create Redis cluster" in operations
    config = got.json()["config"]["redis"]
    assert config["effectiveConfig"]["maxmemoryPercent"] == "75" and "password" not in config["effectiveConfig"]
    assert PASSWORD not in server.log()


def test_stop_and_start_keep_the_data(server: RunningServer, network: str) -> None:
    cluster = create_cluster(server, "lifecycle-stop", hosts=2)
    cluster_id = cluster["id"]
    master = master_of(server, cluster_id)
    client(master).mset({f"key{i}": str(i) for i in range(100)})
    stopped = run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:stop")["response"]
    assert stopped["status"] == "STOPPED"
    names = [h["name"] for h in hosts_of(server, cluster_id)]
    assert not any(any(n in t for n in names) for t in redis_processes(network).values())
    refused = server.rest(
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchCreate",
        json={"hostSpecs": [{"zoneId": "ru-central1-a"}]},
    )
    assert refused.status_code == 400 and "STOPPED; start it" in refused.json()["message"]
    started = run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:start")["response"]
    assert started["status"] == "RUNNING"
    assert sorted(h["name"] for h in hosts_of(server, cluster_id)) == sorted(names)
    assert master_of(server, cluster_id) == master
    for name in names:
        wait_until(lambda n=name: client(n).get("key99") == "99", message=f"{name} lost data")
    assert client(master).dbsize() == 100


def test_config_change_reaches_every_host(server: RunningServer) -> None:
    cluster = create_cluster(server, "lifecycle-config", hosts=3)
    cluster_id = cluster["id"]
    body = {
        "updateMask": "configSpec.redis.timeout,configSpec.redis.maxmemoryPolicy,description",
        "description": "tuned",
        "configSpec": {"redis": {"timeout": "120", "maxmemoryPolicy": "ALLKEYS_LRU"}},
    }
    updated = run(server, "PATCH", f"/managed-redis/v1/clusters/{cluster_id}", body)["response"]
    assert updated["description"] == "tuned"
    assert updated["config"]["redis"]["userConfig"] == {"timeout": "120", "maxmemoryPolicy": "ALLKEYS_LRU"}
    for host in hosts_of(server, cluster_id):
        admin = admin_client(server, host["name"])
        assert admin.config_get("timeout") == {"timeout": "120"}
        assert admin.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}

    again = server.rest("PATCH", f"/managed-redis/v1/clusters/{cluster_id}", json=body)
    assert again.status_code == 400 and again.json() == {**again.json(), "code": 9, "message": "no changes detected"}


def test_password_rotation(server: RunningServer) -> None:
    cluster = create_cluster(server, "lifecycle-password", hosts=2)
    cluster_id = cluster["id"]
    hosts = [h["name"] for h in hosts_of(server, cluster_id)]
    new_password = "Rotated-Password-2"
    mixed = server.rest(
        "PATCH",
        f"/managed-redis/v1/clusters/{cluster_id}",
        json={
            "updateMask": "configSpec.redis.password,description",
            "description": "x",
            "configSpec": {"redis": {"password": new_password}},
        },
    )
    assert mixed.status_code == 400 and "config_spec.redis.password" in mixed.json()["message"]
    run(
        server,
        "PATCH",
        f"/managed-redis/v1/clusters/{cluster_id}",
        {"updateMask": "configSpec.redis.password", "configSpec": {"redis": {"password": new_password}}},
    )
    for host in hosts:
        assert client(host, password=new_password).ping()
        try:
            client(host, password=PASSWORD).ping()
            raise AssertionError(f"the old password still works on {host}")
        except redis.AuthenticationError:
            pass
    assert new_password not in server.log()
    # Replication and Sentinel are untouched by the customer's password.
    master = master_of(server, cluster_id)
    client(master, password=new_password).set("after-rotation", "yes")
    replica = next(h for h in hosts if h != master)
    wait_until(lambda: client(replica, password=new_password).get("after-rotation") == "yes")


def test_delete_respects_deletion_protection_and_removes_everything(server: RunningServer, network: str) -> None:
    cluster = create_cluster(server, "lifecycle-delete", hosts=2, deletionProtection=True)
    cluster_id = cluster["id"]
    names = [h["name"] for h in hosts_of(server, cluster_id)]
    refused = server.rest("DELETE", f"/managed-redis/v1/clusters/{cluster_id}")
    assert refused.status_code == 400
    assert refused.json()["message"] == "The operation was rejected because cluster has 'deletion_protection' = ON"
    run(
        server,
        "PATCH",
        f"/managed-redis/v1/clusters/{cluster_id}",
        {"updateMask": "deletionProtection", "deletionProtection": False},
    )
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")
    assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").status_code == 404
    assert not any(any(n in t for n in names) for t in redis_processes(network).values())
    assert not any((server.data_dir / "hosts" / name).exists() for name in names)


def test_move_needs_rights_on_both_folders(server: RunningServer) -> None:
    cluster = create_cluster(server, "lifecycle-move", hosts=1)
    done = run(
        server, "POST", f"/managed-redis/v1/clusters/{cluster['id']}:move", {"destinationFolderId": "b1gotherfolder"}
    )
    assert done["metadata"]["sourceFolderId"] == FOLDER
    assert done["metadata"]["destinationFolderId"] == "b1gotherfolder"
    assert done["response"]["folderId"] == "b1gotherfolder"
    assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}").json()["folderId"] == "b1gotherfolder"


def test_operations_are_listed_newest_first(server: RunningServer) -> None:
    cluster = create_cluster(server, "lifecycle-ops", hosts=1)
    cluster_id = cluster["id"]
    for description in ("one", "two"):
        run(
            server,
            "PATCH",
            f"/managed-redis/v1/clusters/{cluster_id}",
            {"updateMask": "description", "description": description},
        )
    page = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}/operations?pageSize=2").json()
    assert [op["description"] for op in page["operations"]] == ["Modify Redis cluster", "Modify Redis cluster"]
    rest = server.rest(
        "GET", f"/managed-redis/v1/clusters/{cluster_id}/operations?pageToken={page['nextPageToken']}"
    ).json()
    assert [op["description"] for op in rest["operations"]] == ["Create Redis cluster"]
    assert "nextPageToken" not in rest
    # One running mutating operation per cluster: a second is refused while the first runs.
    first = server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:stop").json()
    second = server.rest(
        "PATCH", f"/managed-redis/v1/clusters/{cluster_id}", json={"updateMask": "description", "description": "x"}
    )
    assert second.status_code == 400 and second.json()["code"] == 9
    # ... naming the running operation in the words Terraform waits on (api.md §10.1).
    conflict = re.search(r"Conflicting operation (.+) detected", second.json()["message"])
    assert conflict is not None and conflict.group(1) == first["id"]
    wait_operation(server, first)
