"""A control plane without processes for unit tests: a real SQLite store, a fake engine, a
clock the test moves, and clusters written straight into the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from managed_redis.backup_store import open_backup_store
from managed_redis.catalog.versions import RedisVersion
from managed_redis.engine.facts import Role
from managed_redis.operations.deps import Deps
from managed_redis.operations.supervisor import Supervisor
from managed_redis.pki import CertificateAuthority
from managed_redis.settings import Settings
from managed_redis.statuses import ClusterStatus, HostState
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import ClusterRecord, HostRecord, ShardRecord
from managed_redis.store.database import Database
from managed_redis.store.migrations import migrate
from managed_redis.vault import Vault
from tests.support.fake_engine import FakeEngine, FakeHost

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


class StepClock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


@dataclass
class World:
    db: Database
    deps: Deps
    engine: FakeEngine
    clock: StepClock

    def supervisor(self) -> Supervisor:
        return Supervisor(self.db, self.deps, self.clock, period_s=1.0)

    def cluster(self, cluster_id: str) -> ClusterRecord:
        """The cluster as the store holds it now; AssertionError if it is not there."""
        with self.db.read() as conn:
            record = cluster_store.get(conn, cluster_id)
        assert record is not None, f"no cluster {cluster_id} in the store"
        return record

    def add_cluster(self, cluster_id: str, hosts: int = 3) -> None:
        """A RUNNING non-sharded cluster: h1 master, the rest its replicas, all healthy."""
        secrets = self.deps.vault.seal({"password": "Customer-Pass-1", "admin_password": "Admin-Pass-1"})
        spec = {"cluster": {}, "config_spec": {"version": "7.0", "resources": {"resourcePresetId": "hm1.nano"}}}
        with self.db.write() as conn:
            cluster_store.insert(
                conn,
                ClusterRecord(
                    cluster_id, "folder1", f"name-{cluster_id}", ClusterStatus.RUNNING, T0, spec=spec, secrets=secrets
                ),
            )
            cluster_store.insert_shard(conn, ShardRecord(cluster_id, "shard1", T0, master_host=f"{cluster_id}-h1"))
            for index in range(1, hosts + 1):
                name = f"{cluster_id}-h{index}"
                address = f"10.{len(self.engine.hosts) // 200}.0.{len(self.engine.hosts) % 200 + 1}"
                cluster_store.insert_host(
                    conn, HostRecord(name, cluster_id, "shard1", "ru-central1-a", address, HostState.ACTIVE, T0)
                )
                self.engine.add(name, FakeHost(address))
        master = self.engine.hosts[f"{cluster_id}-h1"]
        master.role, master.min_replicas = Role.MASTER, 1 if hosts >= 3 else 0
        for index in range(1, hosts + 1):
            host = self.engine.hosts[f"{cluster_id}-h{index}"]
            host.sentinel_names = master.address
            if index > 1:
                host.master = master.address


def make_world(tmp_path: Path) -> World:
    settings = Settings(data_dir=tmp_path, sentinel_down_after_s=5.0, cluster_node_timeout_s=5.0)
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(db)
    engine = FakeEngine()
    deps = Deps(
        settings=settings,
        engine=engine,
        vault=Vault.open(tmp_path),
        ca=CertificateAuthority(tmp_path / "tls"),
        versions=(RedisVersion("7.0", "redis", 7, 0, 15, "redis-server"),),
        backups=open_backup_store(f"file://{tmp_path / 'backups'}"),
    )
    return World(db, deps, engine, StepClock())
