"""Three ``mredis serve`` and two ``mredis worker`` processes on one PostgreSQL database.

200 operations over 50 one-host clusters (creates, label and description updates, a few
backups and deletes), submitted through whichever serve answers, each step twice at once to
two replicas under one Idempotency-Key, while a random process is SIGKILLed every few seconds
and started again. Then: every operation done exactly once, with its effect; nothing left
running that should not be, nor any operation held; every serve answers reads; and a master
killed afterwards is healed by one supervisor while the other two stand by.

``TEST_SEED`` replays a run's choice of victims and moments (its seed is printed).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import queue
import random
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from managed_redis.store.database import Database
from managed_redis.store.schema import operations
from tests.support import postgres
from tests.support.processes import kill_all, pid_of, redis_processes
from tests.support.replica_workload import BACKUP, DELETE, ClusterPlan, Driver, list_clusters, plan
from tests.support.replicas import SERVE, Client, ControlPlane, control_plane
from tests.support.server import host_network, wait_until

# A liveness bound for a loaded machine (the workload alone takes about half a minute here).
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(420)]

CLUSTERS, STEPS_EACH, BACKUPS, DELETES = 50, 4, 5, 5
MAX_KILLS = 25


@pytest.fixture
def database_url() -> Iterator[str]:
    if not postgres.available():
        pytest.fail("PostgreSQL is expected on 127.0.0.1:5432 (see README: test set-up)")
    with postgres.fresh_database() as url:
        yield url


def test_replicas_on_one_database(tmp_path: Path, database_url: str) -> None:
    seed = int(os.environ.get("TEST_SEED") or time.time_ns() % 1_000_000)
    print(f"TEST_SEED={seed}")
    rng = random.Random(seed)
    network = host_network()
    env = {
        "MREDIS_HOST_NETWORK": network,
        "MREDIS_MEMORY_OVERCOMMIT": "1000",
        "MREDIS_SCHEDULER_PERIOD_S": "86400",
        "MREDIS_DEFAULT_VERSION": os.environ.get("TEST_VERSION", "7.0"),
        "MREDIS_SENTINEL_DOWN_AFTER_S": "2",
    }
    plans = plan(CLUSTERS, STEPS_EACH, BACKUPS, DELETES, prefix="replicated")
    data_dir = tmp_path / "data"
    try:
        with control_plane(data_dir, database_url, env) as plane:
            token = (data_dir / "admin-token").read_text().strip()
            client = Client(plane, token, rng)
            driver = Driver(client, plans)
            kills: list[str] = []
            killer = threading.Thread(target=_kill_at_random, args=(plane, random.Random(seed + 1), driver, kills))
            killer.start()
            started = time.monotonic()
            try:
                driver.run(timeout_s=240)
            finally:
                driver.finished.set()
                killer.join(120)
            assert not driver.failures, "\n".join(driver.failures) + "\n" + plane.text()
            print(
                f"{CLUSTERS * STEPS_EACH} operations in {time.monotonic() - started:.0f} s; killed: {', '.join(kills)}"
            )
            assert len(kills) >= 3, kills

            _each_operation_done_once(database_url, plans, plane)
            _each_effect_there(client, plans)
            _nothing_left_behind(network, plans)
            _every_serve_answers(plane, token, plans)
            started = time.monotonic()
            _one_supervisor_heals(plane, client, network, [p for p in plans if p.last != DELETE])
            print(f"healed and streamed in {time.monotonic() - started:.0f} s")
            plane.stop_all()  # while the log streams are still open
            assert [r.current.process.returncode for r in plane.replicas] == [0] * len(plane.replicas)
    finally:
        kill_all(network)


def _kill_at_random(plane: ControlPlane, rng: random.Random, driver: Driver, kills: list[str]) -> None:
    """Every 0.3-1.5 s, SIGKILL a random running process (starting, or at work; one serving
    serve is always left) and start it again up to 1 s later, MAX_KILLS times at most (on a
    loaded machine, a process killed again and again while it starts would hold the workload
    back). Once the workload is done, every process is running again."""
    while not driver.finished.wait(rng.uniform(0.3, 1.5)) and len(kills) < MAX_KILLS:
        victim = rng.choice([r for r in plane.replicas if r.alive])
        if victim.role == SERVE and not [r for r in plane.serves if r is not victim and r.rest_url]:
            continue
        plane.kill(victim)
        kills.append(victim.name)
        threading.Timer(rng.uniform(0.0, 1.0), plane.start, args=(victim,)).start()
    time.sleep(1.1)  # the last start after a kill is due by now
    plane.all_running()


def _each_operation_done_once(database_url: str, plans: list[ClusterPlan], plane: ControlPlane) -> None:
    """The store holds exactly the operations submitted, each done with a response and held by
    nobody; no worker ever finished one another worker held (``result dropped``)."""
    submitted = {step.operation_id for p in plans for step in p.steps}
    assert len(submitted) == CLUSTERS * STEPS_EACH
    db = Database(database_url)
    try:
        with db.read() as conn:
            rows = conn.execute(sa.select(operations)).mappings().all()
    finally:
        db.dispose()
    assert {row["id"] for row in rows} == submitted
    for row in rows:
        assert row["done"] and row["error"] is None and row["response"] is not None, row["id"]
        assert row["lease_owner"] is None and row["lease_expires_at"] is None, row["id"]
    said = plane.all_text()
    done_lines = collections.Counter(re.findall(r"operation (\S+) \(\S+\): done", said))
    assert max(done_lines.values()) == 1, done_lines.most_common(3)
    assert "result dropped" not in said and "lease lost" not in said
    resumed = sum(row["attempts"] > 1 for row in rows)
    taken_back = said.count("is gone; claimable again now")
    print(f"{resumed} operations resumed after their worker was killed ({taken_back} leases taken back at once)")


def _each_effect_there(client: Client, plans: list[ClusterPlan]) -> None:
    for cluster in plans:
        path = f"/managed-redis/v1/clusters/{cluster.cluster_id}"
        got = client.call("GET", path)
        if cluster.last == DELETE:
            assert got.status_code == 404, got.text
            continue
        body = got.json()
        assert body["status"] == "RUNNING", body
        assert body["labels"] == {"step": str(cluster.last_update)}, body
        assert body["description"] == f"step {cluster.last_update}", body
        backups = client.call("GET", f"{path}/backups").json().get("backups", [])
        assert len(backups) == (1 if cluster.last == BACKUP else 0), backups


def _nothing_left_behind(network: str, plans: list[ClusterPlan]) -> None:
    """One redis-server and one Sentinel on each remaining cluster's address; nothing else."""
    serving: collections.Counter[str] = collections.Counter()
    for title in redis_processes(network).values():
        serving.update(word for word in title.split() if re.fullmatch(r"127\.\d+\.\d+\.\d+:\d+", word))
    expected = {f"{p.address}:{port}": 1 for p in plans if p.last != DELETE for port in (6379, 26379)}
    assert dict(serving) == expected


def _every_serve_answers(plane: ControlPlane, token: str, plans: list[ClusterPlan]) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    remaining = sorted(p.name for p in plans if p.last != DELETE)
    sample = next(p for p in plans if p.last == BACKUP)
    for url in plane.rest_urls():
        assert sorted(c["name"] for c in list_clusters(session.get, url)) == remaining, url
        got = session.get(f"{url}/managed-redis/v1/clusters/{sample.cluster_id}").json()
        assert got["labels"] == {"step": str(sample.last_update)}, url
        listed = session.get(f"{url}/managed-redis/v1/clusters/{sample.cluster_id}/operations").json()
        assert {op["id"] for op in listed["operations"]} == {step.operation_id for step in sample.steps}, url
    assert len(plane.rest_urls()) == 3


def _one_supervisor_heals(plane: ControlPlane, client: Client, network: str, plans: list[ClusterPlan]) -> None:
    """SIGKILL one cluster's redis-server: it is started again, and the decision and the act
    are one serve's, the others saying nothing of that cluster. A log stream opened on each
    serve before the kill brings the restarted server's lines, whichever serve restarted it."""
    cluster = plans[0]
    assert cluster.cluster_id is not None
    address = f"{cluster.address}:6379"
    streams = [_follow_logs(url, client.token, cluster.cluster_id) for url in plane.rest_urls()]
    time.sleep(1)  # the streams are past the lines there were
    killed_at = dt.datetime.now(dt.UTC)
    before = pid_of(network, address)
    os.kill(before, signal.SIGKILL)

    def healed() -> bool:
        try:
            restarted = pid_of(network, address) != before
        except LookupError:
            return False
        health = client.call("GET", f"/managed-redis/v1/clusters/{cluster.cluster_id}").json().get("health")
        return restarted and health == "ALIVE"

    wait_until(healed, timeout_s=90, interval_s=0.2, message=f"{address} was not healed\n{plane.text()}")
    time.sleep(2)  # a second supervisor acting late would have done so by now
    mention = f"supervisor: cluster {cluster.cluster_id}:"
    actors = [(r.name, n) for r in plane.serves for n, life in enumerate(r.lives) if mention in life.text()]
    assert len(actors) == 1, actors
    name, life = actors[0]
    healer = next(r for r in plane.serves if r.name == name)
    assert life == len(healer.lives) - 1 and all(r.alive for r in plane.serves)
    for stream in streams:
        _wait_for_line(stream, "Ready to accept connections", after=killed_at)


def _follow_logs(url: str, token: str, cluster_id: str) -> queue.Queue[dict[str, Any]]:
    """The records of a REST StreamLogs of the cluster on the serve at ``url``, as they come."""
    records: queue.Queue[dict[str, Any]] = queue.Queue()

    def follow() -> None:
        address = f"{url}/managed-redis/v1/clusters/{cluster_id}:stream_logs"
        try:
            with requests.get(address, headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=120) as got:
                body = ""
                for chunk in got.iter_content(chunk_size=None):
                    body += chunk.decode()
                    *lines, body = body.split("\n")
                    for line in lines:
                        if line[:1] in ("[", ",") and len(line) > 1:
                            records.put(json.loads(line[1:])["record"])
        except requests.RequestException:
            pass  # its serve stopped at the end of the test

    threading.Thread(target=follow, daemon=True).start()
    return records


def _wait_for_line(records: queue.Queue[dict[str, Any]], words: str, after: dt.datetime) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            record = records.get(timeout=1)
        except queue.Empty:
            continue
        when = dt.datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
        if words in record["message"].get("message", "") and when >= after - dt.timedelta(seconds=1):
            return
    raise AssertionError(f"no {words!r} after {after} in the stream")
