"""Two admissions at once never both take the last free memory: the second waits for the
first to commit and then sees its host. On SQLite and on PostgreSQL (whose transactions do
not queue by themselves; an advisory lock makes them)."""

from __future__ import annotations

import threading
import time

from managed_redis.catalog.presets import PRESETS_BY_ID
from managed_redis.clock import SYSTEM_CLOCK
from managed_redis.errors import ResourceExhausted
from managed_redis.services.capacity import admit_hosts
from managed_redis.settings import Settings
from managed_redis.statuses import ClusterStatus, HostState
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import ClusterRecord, HostRecord, ShardRecord
from managed_redis.store.database import Database

NANO = PRESETS_BY_ID["hm1.nano"]  # 8 GiB
SMALL_MACHINE = Settings(machine_memory_gib=10.0, memory_overcommit=1.0)  # room for one host


def test_the_second_of_two_admissions_at_once_sees_the_first(db: Database) -> None:
    now = SYSTEM_CLOCK.now()
    spec = {"cluster": {}, "config_spec": {"resources": {"resourcePresetId": NANO.id}}}
    with db.write() as conn:
        cluster_store.insert(conn, ClusterRecord("c1", "f1", "c1", ClusterStatus.RUNNING, now, spec=spec))
        cluster_store.insert_shard(conn, ShardRecord("c1", "shard1", now))
    first_admitted, first_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, str] = {}

    def first() -> None:
        with db.write() as conn:
            admit_hosts(conn, SMALL_MACHINE, NANO, 1)
            host = HostRecord("h1", "c1", "shard1", "ru-central1-a", "127.0.0.2", HostState.ADDING, now)
            cluster_store.insert_host(conn, host)
            first_admitted.set()
            first_may_commit.wait(30)

    def second() -> None:
        try:
            with db.write() as conn:
                admit_hosts(conn, SMALL_MACHINE, NANO, 1)
            outcome["second"] = "admitted"
        except ResourceExhausted as error:
            outcome["second"] = str(error)

    one = threading.Thread(target=first)
    one.start()
    assert first_admitted.wait(30)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.3)  # let the second reach its admission while the first holds its transaction
    first_may_commit.set()
    one.join(30)
    two.join(30)
    assert outcome["second"].startswith("memory: needs 8 GiB for 1 host of hm1.nano, 2 GiB of 10 GiB free")
