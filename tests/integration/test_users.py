"""Redis users through the API, against real clusters: a user can do exactly what it was
granted on every host (master and replicas, every shard), before and after failovers, a
SIGKILL of the master, a host added and a shard added; a password change holds everywhere at
once and the old password nowhere; a disabled or deleted user is refused and its open
connections closed; bad input changes nothing anywhere."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from managed_redis.engine.conf import customer_denials
from tests.integration.test_sharded import create_sharded, masters_by_shard
from tests.support.clusters import (
    PASSWORD,
    admin_client,
    create_body,
    create_cluster,
    hosts_of,
    master_of,
    run,
    wait_alive,
)
from tests.support.processes import pid_of
from tests.support.server import RunningServer, json_object, wait_until
from tests.support.versions import since_redis_72

APP_PASSWORD = "App-Password-1"
NEW_PASSWORD = "App-Password-2"
APP_SPEC: dict[str, Any] = {
    "name": "app",
    "passwords": [APP_PASSWORD],
    "permissions": {"patterns": "~app:*", "commands": "+get +set"},
}


def users_path(cluster_id: str, name: str = "") -> str:
    return f"/managed-redis/v1/clusters/{cluster_id}/users" + (f"/{name}" if name else "")


def as_user(host: str, password: str, name: str = "app") -> redis.Redis:
    return redis.Redis(host=host, port=6379, username=name, password=password, decode_responses=True, socket_timeout=5)


def refused_login(host: str, password: str, name: str = "app") -> bool:
    """Whether ``host`` refuses ``name`` with ``password`` (a login that works is one, whatever
    the user may run afterwards: AUTH is every user's)."""
    connection = as_user(host, password, name)
    try:
        connection.execute_command("AUTH", name, password)
    except redis.exceptions.AuthenticationError:
        return True
    finally:
        connection.close()
    return False


def logs_in(host: str, password: str) -> bool:
    """Whether ``host`` answers and takes ``app``'s ``password`` (False while it is down)."""
    try:
        return not refused_login(host, password)
    except redis.exceptions.ConnectionError:
        return False


def can_exactly_read_and_write_app_keys(host: str, master: bool, password: str = APP_PASSWORD) -> None:
    """``~app:* +get +set`` and nothing else, on ``host``."""
    user = as_user(host, password)
    if master:
        assert user.set("app:probe", host)
    assert user.get("app:nothing") is None
    for command in (("GET", "other:1"), ("SET", "other:1", "x"), ("FLUSHALL",), ("CONFIG", "GET", "maxmemory")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            user.execute_command(*command)


def sharded_check(server: RunningServer, password: str = APP_PASSWORD) -> Callable[[str, bool], None]:
    """``~app:* +get +set`` on a node of a sharded cluster: on a master, read and write a key of
    its own slots; on a replica, that key's read passes the ACL and is redirected (MOVED)."""

    def check(host: str, master: bool) -> None:
        user = as_user(host, password)
        key = key_served_by(server, host)
        if master:
            assert user.set(key, host) and user.get(key) == host
        else:
            with pytest.raises(redis.exceptions.MovedError):
                user.get(key)
        for command in (("GET", "other:1"), ("FLUSHALL",), ("CONFIG", "GET", "maxmemory")):
            with pytest.raises(redis.exceptions.NoPermissionError):
                user.execute_command(*command)

    return check


def key_served_by(server: RunningServer, host: str) -> str:
    """A key ``app:probe:<n>`` in the slots of ``host``'s shard."""
    for first, last, *nodes in admin_client(server, host).execute_command("CLUSTER", "SLOTS"):
        if any(node[0] == host for node in nodes):
            return next(
                f"app:probe:{n}" for n in range(100_000) if first <= key_slot(f"app:probe:{n}".encode()) <= last
            )
    raise AssertionError(f"{host} serves no slot")


def on_every_host(server: RunningServer, cluster_id: str, check: Callable[[str, bool], None]) -> None:
    for host in hosts_of(server, cluster_id):
        check(host["name"], host.get("role") == "MASTER")


def acl_users(server: RunningServer, host: str) -> set[str]:
    return set(admin_client(server, host).execute_command("ACL", "USERS"))


def test_users_on_every_host_of_a_three_host_cluster(server: RunningServer, network: str) -> None:
    seed = {
        "name": "seed",
        "passwords": ["Seed-Password-1"],
        "permissions": {"patterns": "~seed:*", "commands": "+get"},
    }
    cluster_id = create_cluster(server, "users-ha", hosts=3, userSpecs=[seed])["id"]
    on_every_host(server, cluster_id, lambda host, _: assert_login(host, "seed", "Seed-Password-1"))

    created = run(server, "POST", users_path(cluster_id), {"userSpec": APP_SPEC})["response"]
    assert created["name"] == "app" and created["enabled"] is True and "passwords" not in created
    assert created["permissions"] == {
        "patterns": "~app:*",
        "pubSubChannels": "allchannels",
        "categories": "",
        "commands": "+get +set",
        "databases": "alldbs",
    }
    # As Redis holds it, less the password hash: Redis 7.0 drops the denials of admin commands
    # (no-ops after -@all); Valkey, like Redis 7.2, keeps every rule as written, in order.
    acl = created["aclOptions"].split()
    assert acl[:4] == ["on", "~app:*", "&*", "-@all"]
    if since_redis_72():
        assert acl[4:6] == ["+get", "+set"] and acl[6:] == ["-@admin", *customer_denials(False).split()]
    else:
        assert sorted(acl[4:]) == ["+get", "+set"]
    on_every_host(server, cluster_id, can_exactly_read_and_write_app_keys)

    # Reads: the user as created, default among the users, the control plane's user never.
    assert json_object(server.rest("GET", users_path(cluster_id, "app"))) == {
        k: v for k, v in created.items() if k != "@type"
    }
    listed = json_object(server.rest("GET", users_path(cluster_id)))["users"]
    assert [u["name"] for u in listed] == ["default", "app", "seed"]
    first = json_object(server.rest("GET", users_path(cluster_id), params={"pageSize": 2}))
    rest = json_object(server.rest("GET", users_path(cluster_id), params={"pageToken": first["nextPageToken"]}))
    assert [u["name"] for u in first["users"] + rest["users"]] == ["default", "app", "seed"]

    # A password change: everywhere at once, open connections kept, the old password nowhere.
    hosts = [h["name"] for h in hosts_of(server, cluster_id)]
    open_connections = [as_user(host, APP_PASSWORD) for host in hosts]
    assert all(c.get("app:nothing") is None for c in open_connections)
    run(server, "PATCH", users_path(cluster_id, "app"), {"updateMask": "passwords", "passwords": [NEW_PASSWORD]})
    assert all(c.get("app:nothing") is None for c in open_connections)
    assert all(refused_login(host, APP_PASSWORD) for host in hosts)
    on_every_host(server, cluster_id, lambda h, m: can_exactly_read_and_write_app_keys(h, m, NEW_PASSWORD))

    # After a planned switchover and after the master's SIGKILL, every host still holds the user.
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", {})
    on_every_host(server, cluster_id, lambda h, m: can_exactly_read_and_write_app_keys(h, m, NEW_PASSWORD))
    old_master = master_of(server, cluster_id)
    os.kill(pid_of(network, f"{old_master}:6379"), signal.SIGKILL)
    wait_until(lambda: master_of_or_none(server, cluster_id) not in (None, old_master), timeout_s=60)
    wait_alive(server, cluster_id, timeout_s=90)
    on_every_host(server, cluster_id, lambda h, m: can_exactly_read_and_write_app_keys(h, m, NEW_PASSWORD))

    # Disabled: refused everywhere, its open connections closed; enabled again: back.
    open_connections = [as_user(host, NEW_PASSWORD) for host in hosts]
    assert all(c.get("app:nothing") is None for c in open_connections)
    disabled = run(server, "PATCH", users_path(cluster_id, "app"), {"updateMask": "enabled", "enabled": False})
    assert disabled["response"]["enabled"] is False if "enabled" in disabled["response"] else True
    assert disabled["response"]["aclOptions"].startswith("off ")
    assert all(closed(c) for c in open_connections)
    assert all(refused_login(host, NEW_PASSWORD) for host in hosts)
    run(server, "PATCH", users_path(cluster_id, "app"), {"updateMask": "enabled", "enabled": True})
    on_every_host(server, cluster_id, lambda h, m: can_exactly_read_and_write_app_keys(h, m, NEW_PASSWORD))

    # Deleted: gone from every host, connections closed; the others untouched.
    open_connections = [as_user(host, NEW_PASSWORD) for host in hosts]
    assert all(c.get("app:nothing") is None for c in open_connections)
    run(server, "DELETE", users_path(cluster_id, "app"))
    assert all(closed(c) for c in open_connections)
    assert all(acl_users(server, host) == {"default", "mredis", "seed"} for host in hosts)
    assert server.rest("GET", users_path(cluster_id, "app")).status_code == 404
    assert all(as_user(host, PASSWORD, "default").ping() for host in hosts)
    # The passwords are nowhere but in Redis's memory: not in the log, the store or any file.
    for secret in (APP_PASSWORD, NEW_PASSWORD, "Seed-Password-1"):
        assert secret not in server.log() and files_holding(server, secret) == []


def files_holding(server: RunningServer, secret: str) -> list[str]:
    """The files under the server's data directory whose bytes hold ``secret``."""
    found = []
    for path in Path(server.data_dir).rglob("*"):
        if path.is_file() and secret.encode() in path.read_bytes():
            found.append(str(path))
    return found


def assert_login(host: str, name: str, password: str) -> None:
    assert as_user(host, password, name).get("seed:x") is None


def master_of_or_none(server: RunningServer, cluster_id: str) -> str | None:
    masters = [h["name"] for h in hosts_of(server, cluster_id) if h.get("role") == "MASTER"]
    return masters[0] if len(masters) == 1 else None


def closed(connection: redis.Redis) -> bool:
    try:
        connection.get("app:nothing")
    except redis.exceptions.ConnectionError:
        return True
    return False


BAD_CREATES: list[tuple[dict[str, Any], str]] = [
    ({**APP_SPEC, "name": "default"}, "userSpec.name"),
    ({**APP_SPEC, "name": "mredis"}, "userSpec.name"),
    ({**APP_SPEC, "passwords": []}, "userSpec.passwords"),
    ({**APP_SPEC, "passwords": ["short"]}, "userSpec.passwords"),
    ({**APP_SPEC, "permissions": {"categories": "+@admin"}}, "userSpec.permissions.categories"),
    ({**APP_SPEC, "permissions": {"commands": "+config|get"}}, "userSpec.permissions.commands"),
    ({**APP_SPEC, "permissions": {"commands": "+get nopass"}}, "userSpec.permissions.commands"),
    ({**APP_SPEC, "permissions": {"patterns": "~x >secret-password"}}, "userSpec.permissions.patterns"),
    ({**APP_SPEC, "permissions": {"patterns": "+get"}}, "userSpec.permissions.patterns"),
    ({**APP_SPEC, "permissions": {"databases": "0,1,5"}}, "userSpec.permissions.databases"),
]


def test_bad_input_names_its_field_and_changes_nothing(server: RunningServer) -> None:
    cluster_id = create_cluster(server, "users-bad", hosts=2)["id"]
    run(server, "POST", users_path(cluster_id), {"userSpec": APP_SPEC})
    hosts = [h["name"] for h in hosts_of(server, cluster_id)]
    before = {host: admin_client(server, host).execute_command("ACL", "LIST") for host in hosts}
    for spec, field in BAD_CREATES:
        reply = server.rest("POST", users_path(cluster_id), json={"userSpec": {**spec, "name": spec["name"] + ""}})
        assert reply.status_code == 400, (spec, reply.text)
        assert field.split(".")[-1] in reply.text.replace("_", "").lower() or field in reply.text, (field, reply.text)
    taken = server.rest("POST", users_path(cluster_id), json={"userSpec": APP_SPEC})
    assert taken.status_code == 409
    for body in (
        {"updateMask": "permissions.commands", "permissions": {"commands": "+flushall +debug"}},
        {"updateMask": "passwords"},
        {"updateMask": "nonsense"},
        {"updateMask": "passwords", "passwords": ["has space in it"]},
    ):
        reply = server.rest("PATCH", users_path(cluster_id, "app"), json=body)
        assert reply.status_code == 400, (body, reply.text)
    unchanged = server.rest(
        "PATCH", users_path(cluster_id, "app"), json={"updateMask": "passwords", "passwords": [APP_PASSWORD]}
    )
    assert unchanged.status_code == 400 and "no changes" in unchanged.text
    assert server.rest("PATCH", users_path(cluster_id, "nobody"), json={"updateMask": "enabled"}).status_code == 404
    assert server.rest("DELETE", users_path(cluster_id, "nobody")).status_code == 404
    assert server.rest("DELETE", users_path(cluster_id, "default")).status_code == 400
    generated = server.rest(
        "POST", users_path(cluster_id), json={"userSpec": {"name": "gen", "generatePassword": True}}
    )
    assert generated.status_code == 501
    # Nothing of it reached the store or any host.
    listed = json_object(server.rest("GET", users_path(cluster_id)))["users"]
    assert [u["name"] for u in listed] == ["default", "app"]
    assert {host: admin_client(server, host).execute_command("ACL", "LIST") for host in hosts} == before


def test_users_on_every_node_of_a_sharded_cluster(server: RunningServer, network: str) -> None:
    cluster_id = create_sharded(server, "users-sharded", shards=3, per_shard=2)["id"]
    run(server, "POST", users_path(cluster_id), {"userSpec": APP_SPEC})
    on_every_host(server, cluster_id, sharded_check(server))
    any_host = hosts_of(server, cluster_id)[0]["name"]

    def routed(password: str) -> RedisCluster:
        return RedisCluster(
            host=any_host, port=6379, username="app", password=password, decode_responses=True, socket_timeout=5
        )

    # A cluster client also needs CLUSTER SLOTS and COMMAND, which the user was not granted.
    run(
        server,
        "PATCH",
        users_path(cluster_id, "app"),
        {
            "updateMask": "permissions.commands",
            "permissions": {"commands": "+get +set +cluster|slots +cluster|shards +command"},
        },
    )
    client = routed(APP_PASSWORD)
    for number in range(60):  # keys on every shard
        client.set(f"app:{number}", number)
    assert [client.get(f"app:{number}") for number in range(60)] == [str(n) for n in range(60)]
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.get("other:1")

    run(server, "PATCH", users_path(cluster_id, "app"), {"updateMask": "passwords", "passwords": [NEW_PASSWORD]})
    assert routed(NEW_PASSWORD).get("app:7") == "7"
    assert all(refused_login(h["name"], APP_PASSWORD) for h in hosts_of(server, cluster_id))

    # A planned failover on one shard, then a master's SIGKILL on another: every node still
    # holds the user, the old masters back as replicas included.
    masters = masters_by_shard(server, cluster_id)
    promoted = next(
        h["name"] for h in hosts_of(server, cluster_id) if h["shardName"] == "s1" and h["name"] != masters["s1"]
    )
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", {"hostNames": [promoted]})
    assert masters_by_shard(server, cluster_id)["s1"] == promoted
    os.kill(pid_of(network, f"{masters['s2']}:6379"), signal.SIGKILL)
    wait_until(lambda: masters_by_shard(server, cluster_id).get("s2") not in (None, masters["s2"]), timeout_s=60)
    wait_alive(server, cluster_id, timeout_s=90)
    on_every_host(server, cluster_id, sharded_check(server, NEW_PASSWORD))

    # A shard added, then slots moved onto it: its hosts hold the user as well.
    run(
        server,
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}/shards",
        {"shardName": "s4", "hostSpecs": [{"zoneId": "ru-central1-a"}, {"zoneId": "ru-central1-b"}]},
    )
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:rebalance", {})
    new_master = masters_by_shard(server, cluster_id)["s4"]
    sharded_check(server, NEW_PASSWORD)(new_master, True)
    after = routed(NEW_PASSWORD)
    assert [after.get(f"app:{number}") for number in range(60)] == [str(n) for n in range(60)]
    on_every_host(server, cluster_id, sharded_check(server, NEW_PASSWORD))


def test_users_through_the_cluster_lifecycle(server: RunningServer, network: str) -> None:
    """The user holds on a host added later, on a replica that was down while its password
    changed (the supervisor restarts it from users.acl), through Stop/Start, after
    EnableSharding; a cluster restored from a backup has the users its Restore declares."""
    cluster_id = create_cluster(server, "users-life", hosts=2)["id"]
    run(server, "POST", users_path(cluster_id), {"userSpec": APP_SPEC})
    run(
        server,
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchCreate",
        {"hostSpecs": [{"zoneId": "ru-central1-d"}]},
    )
    on_every_host(server, cluster_id, can_exactly_read_and_write_app_keys)

    replica = next(h["name"] for h in hosts_of(server, cluster_id) if h.get("role") == "REPLICA")
    os.kill(pid_of(network, f"{replica}:6379"), signal.SIGKILL)
    run(server, "PATCH", users_path(cluster_id, "app"), {"updateMask": "passwords", "passwords": [NEW_PASSWORD]})
    wait_until(lambda: logs_in(replica, NEW_PASSWORD), timeout_s=60, message="the replica did not return")
    assert refused_login(replica, APP_PASSWORD)
    on_every_host(server, cluster_id, lambda h, m: can_exactly_read_and_write_app_keys(h, m, NEW_PASSWORD))

    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:stop")
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:start")
    on_every_host(server, cluster_id, lambda h, m: can_exactly_read_and_write_app_keys(h, m, NEW_PASSWORD))

    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:backup")
    backup_id = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}/backups"))["backups"][0]["id"]
    restore = create_body("users-restored", 2)
    restore.pop("folderId")
    restore.update(backupId=backup_id, userSpecs=[{**APP_SPEC, "passwords": ["Restored-Password-1"]}])
    restored_id = run(server, "POST", "/managed-redis/v1/clusters:restore", restore)["response"]["id"]
    listed = json_object(server.rest("GET", users_path(restored_id)))["users"]
    assert [u["name"] for u in listed] == ["default", "app"]
    on_every_host(server, restored_id, lambda h, m: can_exactly_read_and_write_app_keys(h, m, "Restored-Password-1"))
    assert all(refused_login(h["name"], NEW_PASSWORD) for h in hosts_of(server, restored_id))

    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:enable_sharding")
    on_every_host(server, cluster_id, sharded_check(server, NEW_PASSWORD))
