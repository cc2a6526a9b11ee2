"""Helpers for tests that drive clusters over REST and look at them with redis-py."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import redis

from tests.support.server import RunningServer, json_object, wait_until

PASSWORD = "Test-Password-1"
FOLDER = "b1gtestfolder0000001"


def create_body(name: str, hosts: int = 3, **extra: Any) -> dict[str, Any]:
    zones = ["ru-central1-a", "ru-central1-b", "ru-central1-d"]
    body: dict[str, Any] = {
        "folderId": FOLDER,
        "name": name,
        "environment": "PRODUCTION",
        "configSpec": {"resources": {"resourcePresetId": "hm1.nano"}, "redis": {"password": PASSWORD}},
        "hostSpecs": [{"zoneId": zones[i % 3]} for i in range(hosts)],
    }
    body.update(extra)
    return body


def wait_operation(server: RunningServer, operation: dict[str, Any], timeout_s: float = 120) -> dict[str, Any]:
    assert "id" in operation, operation
    deadline = time.monotonic() + timeout_s
    while True:
        current = json_object(server.rest("GET", f"/operations/{operation['id']}"))
        if current.get("done"):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"operation {operation['id']} not done in {timeout_s} s: {current}")
        time.sleep(0.1)


def run(server: RunningServer, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a mutating method, wait for its operation, and insist it succeeded."""
    response = server.rest(method, path, json=body)
    assert response.status_code == 200, response.text
    done = wait_operation(server, json_object(response))
    assert "error" not in done, f"{done['error']}\n--- server log ---\n{server.log()[-6000:]}"
    return done


def create_cluster(server: RunningServer, name: str, hosts: int = 3, **extra: Any) -> dict[str, Any]:
    done = run(server, "POST", "/managed-redis/v1/clusters", create_body(name, hosts, **extra))
    cluster: dict[str, Any] = done["response"]
    return cluster


def wait_alive(
    server: RunningServer, cluster_id: str, timeout_s: float = 60, message: str = "the cluster did not return to ALIVE"
) -> None:
    """Until the cluster's live health is ALIVE again."""
    wait_until(
        lambda: server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json().get("health") == "ALIVE",
        timeout_s=timeout_s,
        message=message,
    )


def hosts_of(server: RunningServer, cluster_id: str) -> list[dict[str, Any]]:
    reply = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}/hosts"))
    hosts: list[dict[str, Any]] = reply["hosts"]
    return hosts


def master_of(server: RunningServer, cluster_id: str) -> str:
    masters: list[str] = [h["name"] for h in hosts_of(server, cluster_id) if h.get("role") == "MASTER"]
    assert len(masters) == 1, masters
    return masters[0]


def sentinels_of(server: RunningServer, cluster_id: str) -> list[tuple[str, int]]:
    """(address, port) of each Sentinel of a non-sharded cluster: one on each host."""
    return [(h["name"], 26379) for h in hosts_of(server, cluster_id)]


def admin_password(server: RunningServer, host: str) -> str:
    """The control plane's own Redis password, as the host's config holds it (tests only):
    ``masterauth "…"`` as written, or ``primaryauth …`` once Valkey rewrote the file
    (``CONFIG REWRITE``, which a Sentinel sends after a failover, uses Valkey's own names)."""
    text = (Path(server.data_dir) / "hosts" / host / "redis.conf").read_text()
    match = re.search(r'^(?:masterauth|primaryauth) "?([^"\s]+)"?', text, re.MULTILINE)
    assert match, "no masterauth in redis.conf"
    return match.group(1)


def client(host: str, password: str = PASSWORD, **kwargs: Any) -> redis.Redis:
    return redis.Redis(host=host, port=6379, password=password, decode_responses=True, socket_timeout=5, **kwargs)


def admin_client(server: RunningServer, host: str, **kwargs: Any) -> redis.Redis:
    return redis.Redis(
        host=host,
        port=kwargs.pop("port", 6379),
        username="mredis",
        password=admin_password(server, host),
        decode_responses=True,
        socket_timeout=5,
        **kwargs,
    )


def replicated(master: redis.Redis, replicas: int, timeout_s: float = 10) -> None:
    """Wait until ``replicas`` replicas of ``master`` acknowledged every write it took so far:
    their offsets in its INFO replication reach the offset it had when called.

    Not WAIT: WAIT waits for the writes of its own connection only, so on a connection that
    wrote nothing it returns at once, counting a replica whose first sync just ended and that
    no write has reached yet (after a diskless sync the master streams to it only once it
    acknowledges). Raises AssertionError after ``timeout_s`` seconds."""
    if not replicas:
        return
    target = int(master.info("replication")["master_repl_offset"])

    def acknowledged() -> bool:
        info = master.info("replication")
        offsets = [
            int(value.get("offset", -1))
            for key, value in info.items()
            if re.fullmatch(r"slave\d+", key) and isinstance(value, dict) and value.get("state") == "online"
        ]
        return sum(1 for offset in offsets if offset >= target) >= replicas

    wait_until(
        acknowledged,
        timeout_s=timeout_s,
        message=f"{replicas} replica(s) never acknowledged offset {target}",
    )
