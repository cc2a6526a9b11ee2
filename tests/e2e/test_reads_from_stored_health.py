"""Reads never wait on the data plane: Get, List and ListHosts answer from what the supervisor
stored, right, to many callers at once, while every process of a cluster is frozen, and Get
answers all along while a Create runs."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support.clusters import (
    FOLDER,
    create_body,
    create_cluster,
    hosts_of,
    master_of,
    run,
    wait_alive,
    wait_operation,
)
from tests.support.logs import log_on_failure
from tests.support.processes import redis_processes
from tests.support.server import RunningServer, wait_until

READERS = 20
READS_PER_READER = 3


def processes_of(server: RunningServer, hosts: list[str]) -> dict[int, str]:
    """pid -> title of every redis-server and redis-sentinel of ``hosts``."""
    return {
        pid: title
        for pid, title in redis_processes(server.network).items()
        if any(word.rsplit(":", 1)[0] in hosts for word in title.split())
    }


def read_everything(server: RunningServer, cluster_id: str) -> list[tuple[str, int, Any]]:
    """(what, HTTP status, body) of a Get, a List of the folder and a ListHosts."""
    answers = []
    for what, path in (
        ("Get", f"/managed-redis/v1/clusters/{cluster_id}"),
        ("List", f"/managed-redis/v1/clusters?folderId={FOLDER}"),
        ("ListHosts", f"/managed-redis/v1/clusters/{cluster_id}/hosts"),
    ):
        response = server.rest("GET", path)
        body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else None
        answers.append((what, response.status_code, body if body is not None else response.text))
    return answers


def test_reads_answer_while_every_process_is_frozen(cluster_server: RunningServer) -> None:
    server = cluster_server
    name = "frozen-reads"
    cluster_id = create_cluster(server, name, hosts=3)["id"]
    wait_alive(server, cluster_id)
    hosts = sorted(host["name"] for host in hosts_of(server, cluster_id))
    frozen = processes_of(server, hosts)
    assert len(frozen) == 6, frozen  # a redis-server and a Sentinel on each host
    # Resumed masters first: a replica answering beside a master still stopped is what the
    # supervisor fences on.
    master = master_of(server, cluster_id)
    resume_order = sorted(
        frozen, key=lambda pid: (f"{master}:6379" not in frozen[pid].split(), "sentinel" in frozen[pid])
    )
    try:
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        wait_until(
            lambda: server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json().get("health") != "ALIVE",
            timeout_s=30,
            message="the cluster still shows ALIVE with every process stopped",
        )
        # A steady cluster's replicas are looked at every few seconds (its masters each second).
        wait_until(
            lambda: all(host.get("health") != "ALIVE" for host in hosts_of(server, cluster_id)),
            timeout_s=30,
            message="a host still shows ALIVE with every process stopped",
        )
        with ThreadPoolExecutor(READERS) as pool:
            rounds = list(pool.map(lambda _: read_everything(server, cluster_id), range(READERS * READS_PER_READER)))
        still_frozen = all(_state(pid) == "T" for pid in frozen)
    finally:
        for pid in resume_order:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    assert still_frozen, "a process was resumed while the reads ran"

    for answers in rounds:
        for what, status, body in answers:
            assert status == 200, f"{what}: {status} {body}"
        (_, _, got), (_, _, listed), (_, _, listed_hosts) = answers
        assert got["id"] == cluster_id and got["name"] == name and got["status"] == "RUNNING", got
        assert got.get("health") != "ALIVE", got
        mine = [cluster for cluster in listed.get("clusters", []) if cluster["id"] == cluster_id]
        assert len(mine) == 1 and mine[0]["name"] == name and mine[0].get("health") != "ALIVE", listed
        assert sorted(host["name"] for host in listed_hosts["hosts"]) == hosts, listed_hosts
        assert all(host.get("health") != "ALIVE" for host in listed_hosts["hosts"]), listed_hosts
        assert all(host["clusterId"] == cluster_id for host in listed_hosts["hosts"]), listed_hosts

    with log_on_failure(server):
        wait_alive(server, cluster_id, timeout_s=90, message="the cluster did not return to ALIVE after SIGCONT")
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


def test_get_answers_all_along_while_a_create_runs(cluster_server: RunningServer) -> None:
    server = cluster_server
    submitted = server.rest("POST", "/managed-redis/v1/clusters", json=create_body("growing", hosts=3))
    assert submitted.status_code == 200, submitted.text
    operation = submitted.json()
    cluster_id = operation["metadata"]["clusterId"]
    statuses = []
    done = False
    while not done:
        done = bool(server.rest("GET", f"/operations/{operation['id']}").json().get("done"))
        got = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}")
        assert got.status_code == 200, got.text
        assert got.json()["id"] == cluster_id
        statuses.append(got.json()["status"])
        time.sleep(0.02)
    assert "error" not in wait_operation(server, operation)
    # CREATING until the cluster runs, then RUNNING: never anything else, never back.
    assert statuses[0] == "CREATING" and statuses[-1] == "RUNNING", statuses
    first_running = statuses.index("RUNNING")
    assert set(statuses[:first_running]) == {"CREATING"} and set(statuses[first_running:]) == {"RUNNING"}, statuses
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]
