"""The customer's Redis user against real clusters: the commands the cloud makes unavailable
(api.md §10.1) are refused, MIGRATE above all, so keys cannot be carried out of the cluster;
the data commands clients use still work, and the control plane's own user still migrates."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from managed_redis.engine.local import LocalEngine
from managed_redis.engine.model import Credentials
from tests.integration.test_sharded import sharded_body
from tests.support.cluster_clients import cluster_client
from tests.support.clusters import PASSWORD, admin_client, admin_password, client, create_cluster, hosts_of, run
from tests.support.lone_node import lone_node
from tests.support.server import RunningServer

# (command, arguments) a customer may never run, with arguments that would work for the admin.
UNAVAILABLE = [
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "SET", "maxmemory", "1"),
    ("ACL", "WHOAMI"),
    ("ACL", "SETUSER", "intruder", "on", ">secret-password", "+@all"),
    ("BGSAVE",),
    ("BGREWRITEAOF",),
    ("SAVE",),
    ("LASTSAVE",),
    ("DEBUG", "SLEEP", "0"),
    ("MODULE", "LIST"),
    ("MONITOR",),
    ("MOVE", "acl:key", "1"),
    ("OBJECT", "ENCODING", "acl:key"),
    ("REPLICAOF", "NO", "ONE"),
    ("SLAVEOF", "NO", "ONE"),
    ("SHUTDOWN", "NOSAVE"),
]
CLUSTER_ADMIN = [
    ("CLUSTER", "SETSLOT", "0", "STABLE"),
    ("CLUSTER", "MEET", "127.0.0.1", "6379"),
    ("CLUSTER", "FORGET", "0" * 40),
    ("CLUSTER", "FAILOVER"),
    ("CLUSTER", "RESET"),
    ("CLUSTER", "SAVECONFIG"),
    ("CLUSTER", "BUMPEPOCH"),
    ("CLUSTER", "ADDSLOTS", "0"),
    ("CLUSTER", "DELSLOTS", "0"),
    ("CLUSTER", "FLUSHSLOTS"),
]


def refused(connection: redis.Redis, *command: str) -> bool:
    """True when Redis refuses the command to this user: by ACL (NOPERM), or for DEBUG and
    MODULE also by their ``enable-*-command`` guard, which Redis checks first."""
    try:
        connection.execute_command(*command)
    except redis.exceptions.NoPermissionError:
        return True
    except redis.exceptions.ResponseError as error:
        return str(error).startswith(("DEBUG command not allowed", "MODULE command not allowed"))
    return False


@pytest.fixture(scope="module")
def two_clusters(server: RunningServer) -> tuple[str, str]:
    first = create_cluster(server, "acl-first", hosts=1)
    second = create_cluster(server, "acl-second", hosts=1)
    return hosts_of(server, first["id"])[0]["name"], hosts_of(server, second["id"])[0]["name"]


def test_customer_cannot_run_unavailable_commands(two_clusters: tuple[str, str]) -> None:
    host, _ = two_clusters
    customer = client(host)
    customer.set("acl:key", "value")
    still_allowed = [command for command in UNAVAILABLE if not refused(customer, *command)]
    assert still_allowed == []
    # Nothing the refused commands would have done happened.
    assert customer.get("acl:key") == "value" and customer.ping()


def test_customer_cannot_migrate_keys_out_but_the_control_plane_can(
    server: RunningServer, two_clusters: tuple[str, str]
) -> None:
    source, target = two_clusters
    customer = client(source)
    customer.set("acl:kept", "mine")
    with pytest.raises(redis.exceptions.NoPermissionError):
        customer.migrate(target, 6379, ["acl:kept"], 0, 5000, auth=PASSWORD)
    with pytest.raises(redis.exceptions.NoPermissionError):
        customer.execute_command("MIGRATE", target, 6379, "", 0, 5000, "KEYS", "acl:kept")
    assert customer.get("acl:kept") == "mine" and client(target).get("acl:kept") is None

    # The control plane's own user (it moves slots) still migrates, authenticating as itself.
    admin = admin_client(server, source)
    admin.set("acl:moved", "by the control plane")
    reply = admin.execute_command(
        "MIGRATE", target, 6379, "", 0, 5000, "AUTH2", "mredis", admin_password(server, target), "KEYS", "acl:moved"
    )
    assert reply in (b"OK", "OK", True)
    assert client(target).get("acl:moved") == "by the control plane" and customer.get("acl:moved") is None


def test_customer_data_commands_still_work(two_clusters: tuple[str, str]) -> None:
    host, _ = two_clusters
    customer = client(host)
    pipe = customer.pipeline()
    # One command a line: redis-py types each as its reply, not as the pipeline it returns.
    pipe.set("acl:n", 1)
    pipe.incr("acl:n")
    pipe.hset("acl:h", "f", "v")
    pipe.lpush("acl:l", "x")
    pipe.expire("acl:n", 100)
    assert pipe.execute() == [True, 2, 1, 1, True]
    assert customer.execute_command("ROLE")[0] in ("master", b"master")
    assert customer.info("server")["redis_version"]


def test_sharded_customer_cannot_reshape_the_cluster(server: RunningServer) -> None:
    created = run(server, "POST", "/managed-redis/v1/clusters", sharded_body("acl-sharded", shards=3, per_shard=1))
    hosts = [h["name"] for h in hosts_of(server, created["response"]["id"])]
    customer = client(hosts[0])
    still_allowed = [command for command in CLUSTER_ADMIN + UNAVAILABLE if not refused(customer, *command)]
    assert still_allowed == []
    # What cluster clients need is still there: the slot map, and reads and writes on every shard.
    routed = cluster_client(hosts[0])
    for number in range(50):
        routed.set(f"acl:{number}", number)
    assert [int(str(routed.get(f"acl:{number}"))) for number in range(50)] == list(range(50))
    assert "cluster_state:ok" in customer.execute_command("CLUSTER", "INFO")
    with pytest.raises(redis.exceptions.NoPermissionError):
        customer.execute_command("MIGRATE", hosts[1], 6379, "", 0, 5000, "KEYS", "acl:1")


def test_a_running_node_with_older_rules_is_brought_in_line_when_adopted(tmp_path: Path) -> None:
    """A node started before these rules (its customer may still MIGRATE) loses the commands
    once the engine adopts it, keeping its password and its data."""
    with lone_node(tmp_path, Credentials("customer-pw1", "admin-pw-1")) as node:
        address, engine = node.address, LocalEngine()
        engine.ensure_node(node)
        admin = engine.admin(node)
        admin.execute_command("ACL", "SETUSER", "default", "+migrate", "+object", "+config")
        customer = redis.Redis(host=address, password="customer-pw1", decode_responses=True, socket_timeout=5)
        customer.set("old:key", "v")
        assert customer.object("encoding", "old:key") == "embstr"  # the older rules, as they were
        engine.ensure_node(node)
        assert [c for c in UNAVAILABLE if not refused(customer, *c)] == []
        assert customer.get("old:key") == "v"
        # Saved: a restart keeps today's rules.
        engine.stop_node(node, save=True)
        engine.ensure_node(node)
        assert refused(customer, "MIGRATE", address, "6379", "", "0", "1000", "KEYS", "old:key")
