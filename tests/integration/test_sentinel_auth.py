"""``auth_sentinel`` against a real cluster: with it, every Sentinel asks clients for the
cluster's password (and clients' Sentinel discovery works with it); without it, none. Update
turns it on and off live, a password change reaches the Sentinels, and the control plane's
own Sentinel user keeps working throughout."""

from __future__ import annotations

from pathlib import Path

import redis
import redis.sentinel

from tests.support.clusters import PASSWORD, create_cluster, hosts_of, master_of, run
from tests.support.server import RunningServer

SENTINEL_PORT = 26379
NEW_PASSWORD = "Rotated-Sentinel-2"


def sentinel_client(host: str, password: str | None = None) -> redis.Redis:
    return redis.Redis(host=host, port=SENTINEL_PORT, password=password, decode_responses=True, socket_timeout=5)


def asks_password(host: str, name: str, password: str) -> bool:
    """True when ``host``'s Sentinel refuses an unauthenticated client and answers one with
    ``password``; False when it answers without one. Fails the test otherwise."""
    try:
        sentinel_client(host).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
    except redis.exceptions.AuthenticationError:
        addr = sentinel_client(host, password).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
        assert addr and addr[0], addr
        return True
    return False


def discovered_master(hosts: list[str], name: str, password: str | None) -> str:
    kwargs = {"password": password} if password else {}
    sentinel = redis.sentinel.Sentinel([(h, SENTINEL_PORT) for h in hosts], socket_timeout=2, sentinel_kwargs=kwargs)
    address, _port = sentinel.discover_master(name)
    return str(address)


def conf_default_user(server: RunningServer, host: str) -> str:
    for line in (Path(server.data_dir) / "hosts" / host / "sentinel.conf").read_text().splitlines():
        if line.startswith("user default "):
            return line
    raise AssertionError(f"no default user in {host}'s sentinel.conf")


def test_auth_sentinel_at_create_and_by_update(server: RunningServer) -> None:
    cluster = create_cluster(server, "sentinel-auth", hosts=3, authSentinel=True)
    cluster_id, name = cluster["id"], cluster["name"]
    assert cluster["authSentinel"] is True
    hosts = [h["name"] for h in hosts_of(server, cluster_id)]
    master = master_of(server, cluster_id)
    assert all(asks_password(host, name, PASSWORD) for host in hosts)
    assert discovered_master(hosts, name, PASSWORD) == master
    try:
        discovered_master(hosts, name, None)
        raise AssertionError("discovery without the password found the master")
    except redis.sentinel.MasterNotFoundError:
        pass

    # A new password reaches the Sentinels too; the old one no longer opens them.
    run(
        server,
        "PATCH",
        f"/managed-redis/v1/clusters/{cluster_id}",
        {"updateMask": "configSpec.redis.password", "configSpec": {"redis": {"password": NEW_PASSWORD}}},
    )
    assert all(asks_password(host, name, NEW_PASSWORD) for host in hosts)
    try:
        sentinel_client(hosts[0], PASSWORD).ping()
        raise AssertionError("the old password still opens the Sentinel")
    except redis.exceptions.AuthenticationError:
        pass

    # Off: as without it, live and in each Sentinel's config.
    off = run(
        server,
        "PATCH",
        f"/managed-redis/v1/clusters/{cluster_id}",
        {"updateMask": "authSentinel", "authSentinel": False},
    )["response"]
    assert not off.get("authSentinel")
    assert not any(asks_password(host, name, NEW_PASSWORD) for host in hosts)
    assert discovered_master(hosts, name, None) == master
    assert all(" nopass " in conf_default_user(server, host) for host in hosts)

    # On again: the Sentinels (and a failover through them) work for the control plane.
    run(
        server,
        "PATCH",
        f"/managed-redis/v1/clusters/{cluster_id}",
        {"updateMask": "authSentinel", "authSentinel": True},
    )
    assert all(asks_password(host, name, NEW_PASSWORD) for host in hosts)
    assert all(" nopass " not in conf_default_user(server, host) for host in hosts)
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", {})
    new_master = master_of(server, cluster_id)
    assert new_master != master
    assert discovered_master(hosts, name, NEW_PASSWORD) == new_master


def test_without_auth_sentinel_no_password(server: RunningServer) -> None:
    cluster = create_cluster(server, "sentinel-open", hosts=2)
    name = cluster["name"]
    hosts = [h["name"] for h in hosts_of(server, cluster["id"])]
    assert not cluster.get("authSentinel")
    assert not any(asks_password(host, name, PASSWORD) for host in hosts)
    assert discovered_master(hosts, name, None) == master_of(server, cluster["id"])
