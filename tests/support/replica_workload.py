"""A workload of cheap operations over many one-host clusters, driven through whichever
control-plane replica answers (``replicas.Client``), each submitted under its own
Idempotency-Key, twice at once to two replicas where it can, and awaited before the next
operation of its cluster.

Each cluster gets: Create, then Updates of its labels and description (``step`` label =
the step's number), and last either one more Update, a Backup or a Delete.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.support.clusters import FOLDER, create_body
from tests.support.replicas import Client

CREATE, UPDATE, BACKUP, DELETE = "create", "update", "backup", "delete"


@dataclass
class Step:
    number: int
    action: str
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    operation_id: str | None = None
    done: dict[str, Any] | None = None


@dataclass
class ClusterPlan:
    name: str
    steps: list[Step]
    cluster_id: str | None = None
    address: str | None = None  # its one host's address, once created

    @property
    def last(self) -> str:
        return self.steps[-1].action

    @property
    def last_update(self) -> int:
        return max(step.number for step in self.steps if step.action in (CREATE, UPDATE))


def plan(clusters: int, steps_each: int, backups: int, deletes: int, prefix: str) -> list[ClusterPlan]:
    """``clusters`` plans of ``steps_each`` steps: the first ``backups`` end with a Backup, the
    next ``deletes`` with a Delete, the rest with an Update."""
    plans = []
    for index in range(clusters):
        last = BACKUP if index < backups else DELETE if index < backups + deletes else UPDATE
        actions = [CREATE] + [UPDATE] * (steps_each - 2) + [last]
        plans.append(ClusterPlan(f"{prefix}-{index:03d}", [Step(n, a) for n, a in enumerate(actions)]))
    return plans


def _request(cluster: ClusterPlan, step: Step) -> tuple[str, str, dict[str, Any] | None]:
    labels = {"step": str(step.number)}
    if step.action == CREATE:
        body = create_body(cluster.name, hosts=1, labels=labels, description="step 0")
        return "POST", "/managed-redis/v1/clusters", body
    path = f"/managed-redis/v1/clusters/{cluster.cluster_id}"
    if step.action == UPDATE:
        body = {"updateMask": "labels,description", "labels": labels, "description": f"step {step.number}"}
        return "PATCH", path, body
    if step.action == BACKUP:
        return "POST", path + ":backup", None
    return "DELETE", path, None


class Driver:
    """Runs the plans on ``threads`` client threads; ``twice`` submits each step to two replicas
    at once (the same key), which must answer with the same operation."""

    def __init__(self, client: Client, plans: list[ClusterPlan], threads: int = 10, twice: bool = True) -> None:
        self.client = client
        self.plans = plans
        self.threads = threads
        self.twice = twice
        self.failures: list[str] = []
        self.finished = threading.Event()

    def run(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with ThreadPoolExecutor(self.threads, thread_name_prefix="client") as pool:
            for future in [pool.submit(self._run_plan, p, deadline) for p in self.plans]:
                future.result()
        self.finished.set()

    def _run_plan(self, cluster: ClusterPlan, deadline: float) -> None:
        for step in cluster.steps:
            if self.failures:
                return
            try:
                self._run_step(cluster, step, deadline)
            except AssertionError as failure:
                self.failures.append(f"{cluster.name} step {step.number} ({step.action}): {failure}")
                return

    def _run_step(self, cluster: ClusterPlan, step: Step, deadline: float) -> None:
        method, path, body = _request(cluster, step)
        headers = {"Idempotency-Key": step.key}
        answers: list[requests.Response] = []

        def submit() -> None:
            answers.append(self.client.call(method, path, json=body, headers=headers))

        callers = [threading.Thread(target=submit) for _ in range(2 if self.twice else 1)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        for answer in answers:
            assert answer.status_code == 200, f"{answer.status_code} {answer.text}"
        ids = {answer.json()["id"] for answer in answers}
        assert len(ids) == 1, f"one key, several operations: {ids}"
        step.operation_id = ids.pop()
        if step.action == CREATE:
            cluster.cluster_id = answers[0].json()["metadata"]["clusterId"]
        step.done = self._wait(step.operation_id, deadline)
        assert "error" not in step.done, step.done["error"]
        if step.action == CREATE:
            hosts = self.client.call("GET", f"/managed-redis/v1/clusters/{cluster.cluster_id}/hosts").json()["hosts"]
            cluster.address = hosts[0]["name"]  # a local host's name is its address

    def _wait(self, operation_id: str, deadline: float) -> dict[str, Any]:
        while time.monotonic() < deadline:
            answer = self.client.call("GET", f"/operations/{operation_id}")
            assert answer.status_code == 200, answer.text
            current: dict[str, Any] = answer.json()
            if current.get("done"):
                return current
            time.sleep(0.3)
        raise AssertionError(f"operation {operation_id} was not done in time")


def list_clusters(session_get: Any, url: str) -> list[dict[str, Any]]:
    """Every cluster of the test folder, as one serve lists them, page after page."""
    clusters: list[dict[str, Any]] = []
    token = ""
    while True:
        page = session_get(f"{url}/managed-redis/v1/clusters?folderId={FOLDER}&pageSize=20&pageToken={token}").json()
        clusters += page.get("clusters", [])
        token = page.get("nextPageToken", "")
        if not token:
            return clusters


def shuffled(rng: random.Random, items: list[Any]) -> list[Any]:
    copy = list(items)
    rng.shuffle(copy)
    return copy
