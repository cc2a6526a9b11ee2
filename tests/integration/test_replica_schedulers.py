"""Three control planes' backup schedulers on one PostgreSQL database, passing at the same
moments inside the clusters' backup window: each window is taken once, by one of them, and
each cluster gets one automatic backup operation, however the passes interleave."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from managed_redis.clock import Clock
from managed_redis.operations.registry import AUTOMATED_BACKUP
from managed_redis.operations.scheduler import BackupScheduler
from managed_redis.operations.submit import OperationQueue
from managed_redis.store.database import Database
from managed_redis.store.migrations import migrate
from managed_redis.store.schema import backup_windows, operations
from tests.support import postgres
from tests.support.fake_world import T0, World, make_world

pytestmark = pytest.mark.postgres

CLUSTERS, REPLICAS, PASSES = 20, 3, 4
# Inside every cluster's default window (22:00 UTC) the day after they were made.
INSIDE_WINDOW = (T0 + dt.timedelta(days=1)).replace(hour=22, minute=5)


class FixedClock:
    def now(self) -> dt.datetime:
        return INSIDE_WINDOW


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    if not postgres.available():
        pytest.fail("PostgreSQL is expected on 127.0.0.1:5432 (see README: test set-up)")
    local = make_world(tmp_path)
    local.db.dispose()
    with postgres.fresh_database() as url:
        db = Database(url)
        migrate(db)
        shared = dataclasses.replace(local, db=db)
        for index in range(CLUSTERS):
            shared.add_cluster(f"c{index:03d}", hosts=1)
        yield shared
        db.dispose()


def test_each_window_is_taken_once_across_replicas(world: World) -> None:
    clock: Clock = FixedClock()
    # Each replica with its own connections, as separate processes have.
    replicas = [Database(world.db.url) for _ in range(REPLICAS)]
    schedulers = [BackupScheduler(db, world.deps, OperationQueue(db, clock), clock) for db in replicas]
    started: list[list[str]] = [[] for _ in schedulers]
    barrier = threading.Barrier(REPLICAS)

    def passes(index: int) -> None:
        for _ in range(PASSES):
            barrier.wait(30)
            started[index] += schedulers[index].start_due_backups()

    threads = [threading.Thread(target=passes, args=(i,)) for i in range(REPLICAS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for db in replicas:
        db.dispose()

    every = [op_id for ids in started for op_id in ids]
    assert len(every) == len(set(every)) == CLUSTERS, [len(ids) for ids in started]
    with world.db.read() as conn:
        kinds = conn.execute(sa.select(operations.c.kind, operations.c.cluster_id)).all()
        windows = conn.execute(sa.select(backup_windows)).all()
    assert sorted(cluster for kind, cluster in kinds if kind == AUTOMATED_BACKUP.name) == [
        f"c{index:03d}" for index in range(CLUSTERS)
    ]
    assert len(windows) == CLUSTERS and {w.window_start for w in windows} == {INSIDE_WINDOW.replace(minute=0)}
