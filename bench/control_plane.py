"""Operations per second through 1, 2 and 3 control-plane replicas on one PostgreSQL database,
the engine's work stubbed (``bench/stub_serve.py``), beside the database's own floor for the
same transactions run directly.

Each round: a fresh database, N ``serve`` processes (each with its embedded worker), CLUSTERS
one-host clusters created through the REST API, then UPDATES label updates of each, sent by
CLIENTS threads to replicas picked at random, each cluster's next update sent once its last is
done (one operation at a time per cluster, as the API allows). The bench learns that an
operation is done from the database (not by polling the replicas, which would load them).

The floor: the store's own transactions of one such operation (submit: lock the cluster and
write the operation; claim; one checkpoint; the handler's write of the cluster; finish), run by
CLIENTS threads in this process with no API, no handler and no poll: what PostgreSQL and the
store layer allow, whatever the replicas do around them.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from google.protobuf import struct_pb2

from bench.common import figure
from managed_redis.clock import SYSTEM_CLOCK
from managed_redis.ids import new_id
from managed_redis.lease_holders import this_process
from managed_redis.statuses import ClusterStatus
from managed_redis.store import clusters as cluster_store
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord
from managed_redis.store.database import Database
from managed_redis.store.migrations import migrate
from managed_redis.store.operations import OperationRecord
from managed_redis.store.schema import operations
from tests.support import postgres
from tests.support.clusters import FOLDER, create_body
from tests.support.replicas import ControlPlane, control_plane

CLUSTERS = int(os.environ.get("BENCH_CP_CLUSTERS", "40"))
UPDATES = int(os.environ.get("BENCH_CP_UPDATES", "5"))
CLIENTS = 16
REPLICAS = (1, 2, 3)
# Addresses are only allocated (the stub engine binds nothing); apart from the other benches.
NETWORK = "127.27.0.0/16"
KIND = "bench.floor"


class DoneWatch:
    """Tells waiting clients when their operation is done, from one reader of the database."""

    def __init__(self, database_url: str) -> None:
        self.db = Database(database_url)
        self._waiting: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def wait(self, operation_id: str, timeout_s: float = 120) -> None:
        event = threading.Event()
        with self._lock:
            self._waiting[operation_id] = event
        if not event.wait(timeout_s):
            raise AssertionError(f"operation {operation_id} not done in {timeout_s} s")

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            with self._lock:
                pending = list(self._waiting)
            if not pending:
                continue
            with self.db.read() as conn:
                query = sa.select(operations.c.id, operations.c.error).where(
                    operations.c.id.in_(pending), operations.c.done.is_(True)
                )
                done = conn.execute(query).all()
            with self._lock:
                for op_id, error in done:
                    assert error is None, f"operation {op_id} failed"
                    self._waiting.pop(op_id).set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.db.dispose()


def _submit(
    session: requests.Session, plane: ControlPlane, rng: random.Random, method: str, path: str, body: object
) -> dict[str, Any]:
    """The operation a replica picked at random answers the call with."""
    answer = session.request(method, rng.choice(plane.rest_urls()) + path, json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    operation: dict[str, Any] = answer.json()
    return operation


def _rate(count: int, run: Callable[[int], None]) -> float:
    """Operations per second of ``run(index)`` for index in range(count), on CLIENTS threads."""
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(run, index) for index in range(count)]:
            future.result()
    return count / (time.monotonic() - started)


def through_replicas(replicas: int) -> tuple[float, float]:
    """(creates per second, updates per second) through ``replicas`` serve processes."""
    env = {
        "MREDIS_HOST_NETWORK": NETWORK,
        "MREDIS_MEMORY_OVERCOMMIT": "1000",
        "MREDIS_SCHEDULER_PERIOD_S": "86400",
        "MREDIS_LOG_LEVEL": "WARNING",
    }
    with postgres.fresh_database() as url, tempfile.TemporaryDirectory(prefix="mredis-bench-cp-") as data:
        data_dir = Path(data)
        with control_plane(data_dir, url, env, serves=replicas, workers=0, module="bench.stub_serve") as plane:
            token = (data_dir / "admin-token").read_text().strip()
            watch = DoneWatch(url)
            local = threading.local()
            cluster_ids: list[str] = [""] * CLUSTERS

            def session() -> tuple[requests.Session, random.Random]:
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                    local.session.headers["Authorization"] = f"Bearer {token}"
                    local.rng = random.Random(threading.get_ident())
                return local.session, local.rng

            def create(index: int) -> None:
                http, rng = session()
                body = create_body(f"bench-cp-{index:03d}", hosts=1)
                operation = _submit(http, plane, rng, "POST", "/managed-redis/v1/clusters", body)
                watch.wait(operation["id"])
                cluster_ids[index] = operation["metadata"]["clusterId"]

            def update(index: int) -> None:
                http, rng = session()
                path = f"/managed-redis/v1/clusters/{cluster_ids[index]}"
                for step in range(UPDATES):
                    body = {"updateMask": "labels", "labels": {"step": str(step)}}
                    watch.wait(_submit(http, plane, rng, "PATCH", path, body)["id"])

            try:
                creates = _rate(CLUSTERS, create)
                updates = _rate(CLUSTERS, update) * UPDATES
            finally:
                watch.close()
    return creates, updates


def database_floor() -> float:
    """Operations per second of the store's own transactions of an operation, run directly."""
    with postgres.fresh_database() as url:
        db = Database(url)
        migrate(db)
        now = SYSTEM_CLOCK.now()
        with db.write() as conn:
            for index in range(CLUSTERS):
                cluster_store.insert(
                    conn, ClusterRecord(f"c{index:03d}", FOLDER, f"c{index}", ClusterStatus.RUNNING, now)
                )
        holder = this_process()

        def one_cluster(index: int) -> None:
            cluster_id = f"c{index:03d}"
            for step in range(UPDATES):
                record = _floor_record(cluster_id, f"{KIND}.{index}")  # a kind per thread: its own to claim
                with db.write() as conn:
                    assert cluster_store.lock_for_operation(conn, cluster_id, record.id)
                    op_store.insert(conn, record)
                with db.write() as conn:
                    claimed = op_store.claim_next(
                        conn, f"floor/{index}", SYSTEM_CLOCK.now(), 30.0, {record.kind}, holder=holder
                    )
                assert claimed is not None
                owner = claimed.lease_owner
                assert owner is not None
                with db.write() as conn:
                    op_store.save_progress(
                        conn, claimed.id, owner, SYSTEM_CLOCK.now(), {"steps": {"apply settings": 1}}
                    )
                with db.write() as conn:
                    cluster_store.update(conn, claimed.cluster_id or cluster_id, spec={"labels": {"step": str(step)}})
                with db.write() as conn:
                    assert op_store.finish(conn, claimed, owner, SYSTEM_CLOCK.now(), response=b"")

        try:
            return _rate(CLUSTERS, one_cluster) * UPDATES
        finally:
            db.dispose()


def _floor_record(cluster_id: str, kind: str) -> OperationRecord:
    now = SYSTEM_CLOCK.now()
    return OperationRecord(
        id=new_id(),
        kind=kind,
        description="bench",
        folder_id=FOLDER,
        cluster_id=cluster_id,
        created_by="bench",
        created_at=now,
        modified_at=now,
        request=struct_pb2.Struct().SerializeToString(),
        metadata=b"",
        request_fingerprint="",
        progress={},
    )


def main() -> None:
    print(
        f"control plane: operations/s on one PostgreSQL, engine stubbed ({CLUSTERS} clusters, "
        f"{CLUSTERS * UPDATES} updates, {CLIENTS} clients)",
        flush=True,
    )
    figure("database floor: the store's transactions directly", f"{database_floor():.0f} ops/s")
    for replicas in REPLICAS:
        creates, updates = through_replicas(replicas)
        figure(f"{replicas} replica(s): Update (labels) via REST", f"{updates:.0f} ops/s")
        figure(f"{replicas} replica(s): Create (1 host) via REST", f"{creates:.0f} ops/s")


if __name__ == "__main__":
    main()
