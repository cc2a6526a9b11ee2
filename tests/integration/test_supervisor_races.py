"""The supervisor never races an operation: a host that dies just before its cluster is
deleted is not brought back behind the Delete's back, and a new cluster on the same
addresses (even where a stranger's redis-server still listens) is wholly the new one."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.clusters import FOLDER, client, create_body, hosts_of, master_of, run, wait_alive, wait_operation
from tests.support.processes import pid_of, redis_processes
from tests.support.server import RunningServer, wait_until

ROUNDS = 3
# How long after a Delete is done nothing may come back on its hosts' addresses: several
# supervisor passes (one a second), and more than one restart attempt's backoff.
WATCH_AFTER_DELETE_S = 4.0


def create(server: RunningServer, name: str, password: str, hosts: int = 3) -> dict[str, Any]:
    body = create_body(name, hosts)
    body["configSpec"]["redis"]["password"] = password
    cluster: dict[str, Any] = run(server, "POST", "/managed-redis/v1/clusters", body)["response"]
    return cluster


def by_address(names: list[str]) -> list[str]:
    return sorted(names, key=ipaddress.ip_address)


def lowest_free(network: str, used: set[str], count: int) -> list[str]:
    """The addresses the server hands out next: the lowest free ones, skipping .0 and .255."""
    free = [str(a) for a in ipaddress.ip_network(network).hosts() if str(a) not in used]
    return [a for a in free if not a.endswith((".0", ".255"))][:count]


def serving(network: str, addresses: list[str]) -> dict[int, str]:
    """pid -> title of every Redis process (server or Sentinel) on one of ``addresses``."""
    wanted = set(addresses)
    return {
        pid: title
        for pid, title in redis_processes(network).items()
        if any(word.rsplit(":", 1)[0] in wanted for word in title.split())
    }


def used_addresses(server: RunningServer) -> set[str]:
    clusters = server.rest("GET", f"/managed-redis/v1/clusters?folderId={FOLDER}").json().get("clusters", [])
    return {host["name"] for cluster in clusters for host in hosts_of(server, cluster["id"])}


def test_delete_right_after_a_replica_dies_leaves_nothing_behind(server: RunningServer, network: str) -> None:
    addresses: list[str] = []
    previous_password = ""
    for round_ in range(ROUNDS):
        password = f"Round-{round_}-Password"
        cluster_id = create(server, f"race-{round_}", password)["id"]
        hosts = by_address([host["name"] for host in hosts_of(server, cluster_id)])
        # The first cluster gets the network's lowest addresses; each later one the same again.
        assert hosts == (addresses or lowest_free(network, set(), 3))
        addresses = hosts
        wait_alive(server, cluster_id)
        master = master_of(server, cluster_id)
        for host in hosts:
            assert client(host, password).ping(), host
        if previous_password:
            assert refuses(master, previous_password)
        previous_password = password

        replica = next(host for host in hosts if host != master)
        os.kill(pid_of(network, f"{replica}:6379"), signal.SIGKILL)
        deleting = server.rest("DELETE", f"/managed-redis/v1/clusters/{cluster_id}")
        assert deleting.status_code == 200, deleting.text
        done = wait_operation(server, deleting.json())
        assert "error" not in done, f"{done['error']}\n--- server log ---\n{server.log()[-6000:]}"

        watch_until = time.monotonic() + WATCH_AFTER_DELETE_S
        while True:
            left = serving(network, hosts)
            assert not left, f"round {round_}: processes left after Delete: {left}\n{server.log()[-6000:]}"
            kept = [host for host in hosts if (server.data_dir / "hosts" / host).exists()]
            assert not kept, f"round {round_}: directories left after Delete: {kept}\n{server.log()[-6000:]}"
            if time.monotonic() > watch_until:
                break
            time.sleep(0.05)
        assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").status_code == 404


def test_create_kills_a_stranger_on_its_address(server: RunningServer, network: str, tmp_path: Path) -> None:
    address = lowest_free(network, used_addresses(server), 1)[0]
    stranger_password = "Stranger-Password"
    options = {"bind": address, "port": "6379", "requirepass": stranger_password, "save": "", "dir": str(tmp_path)}
    stranger = subprocess.Popen(
        ["redis-server", *[word for key, value in options.items() for word in (f"--{key}", value)]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _answers(address, stranger_password), message="the stranger's redis-server did not start")
        client(address, stranger_password).set("stranger-key", "1")
        assert pid_of(network, f"{address}:6379") == stranger.pid

        password = "Newcomer-Password"
        cluster_id = create(server, "after-a-stranger", password)["id"]
        hosts = by_address([host["name"] for host in hosts_of(server, cluster_id)])
        assert address in hosts
        wait_alive(server, cluster_id)
        assert stranger.poll() is not None, "the stranger's redis-server still runs"
        for host in hosts:
            assert client(host, password).ping(), host
            assert refuses(host, stranger_password), host
        master = client(master_of(server, cluster_id), password)
        assert master.get("stranger-key") is None and master.dbsize() == 0
    finally:
        if stranger.poll() is None:
            stranger.kill()
        stranger.wait(10)


def refuses(address: str, password: str) -> bool:
    """Whether Redis on ``address`` turns ``password`` away (asked once: no retries)."""
    try:
        client(address, password, retry=Retry(NoBackoff(), 0)).ping()
    except redis.AuthenticationError:
        return True
    return False


def _answers(address: str, password: str) -> bool:
    try:
        return bool(client(address, password, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False
