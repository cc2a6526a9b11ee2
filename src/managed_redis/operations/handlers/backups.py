"""Handlers of backups: take one (shard by shard, from a replica when one is healthy) and
delete one.

A shard's backup is a fresh RDB snapshot (BGSAVE on the chosen host), streamed into the
backup store zstd-compressed, with the SHA-256 and size of what was stored recorded next to
it. The backup appears in lists only once every shard is stored.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import empty_pb2, json_format
from google.protobuf.message import Message
from yandex.cloud.mdb.redis.v1 import backup_service_pb2 as backup_service_pb
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.backup_store import BackupStore
from managed_redis.backup_store.stream import Digest, compress
from managed_redis.domain.cluster_spec import config_spec_of, declared_of
from managed_redis.engine.facts import Role
from managed_redis.engine.slots import ranges
from managed_redis.errors import ApiError, FailedPrecondition
from managed_redis.operations import sharding, steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.observing import live_redis
from managed_redis.operations.plans import ClusterPlan
from managed_redis.store import backups as backup_store
from managed_redis.store.backups import BackupRecord
from managed_redis.store.clusters import HostRecord
from managed_redis.store.database import Database

MANUAL = "MANUAL"
AUTOMATED = "AUTOMATED"


def backup_id_for(cluster_id: str, started_at_text: str) -> str:
    return f"{cluster_id}:{started_at_text}"


def object_key(backup_id: str, shard_name: str) -> str:
    return f"{backup_id.replace(':', '/')}/{shard_name}.rdb.zst"


def source_host(plan: ClusterPlan, shard_name: str) -> HostRecord:
    """The in-sync replica closest to its master, or the master when no replica is healthy."""
    seen = live_redis(plan)
    hosts = plan.shard_hosts(shard_name)
    master = next((h for h in hosts if seen[h.name].answered and seen[h.name].role == Role.MASTER), None)
    replicas = [h for h in hosts if seen[h.name].role == Role.REPLICA and seen[h.name].link_up]
    if replicas:
        return max(replicas, key=lambda host: seen[host.name].offset or 0)
    if master is None:
        raise FailedPrecondition(f"shard {shard_name} of cluster {plan.record.id} has no live host to back up from")
    return master


def shard_slots(plan: ClusterPlan, shard_name: str) -> list[list[int]]:
    """The slot ranges a sharded cluster's shard holds now (empty for a non-sharded one)."""
    if not plan.record.sharded:
        return []
    cluster = sharding.ops(plan)
    master = plan.node(sharding.live_master(plan, shard_name), None)
    held = cluster.owners(master).get(cluster.node_id(master), set())
    return [[first, last] for first, last in ranges(held)]


def save_shard(plan: ClusterPlan, backup_id: str, shard_name: str) -> dict[str, Any]:
    slots = shard_slots(plan, shard_name)
    host = source_host(plan, shard_name)
    rdb = plan.deps.engine.bgsave(plan.node(host, None))
    digest = Digest()
    key = object_key(backup_id, shard_name)
    plan.deps.backups.put(key, compress(rdb, digest))
    return {
        "shard": shard_name,
        "key": key,
        "sha256": digest.sha256,
        "stored_bytes": digest.stored_bytes,
        "raw_bytes": digest.raw_bytes,
        "source_host": host.name,
        "slots": slots,
    }


def _start_backup(ctx: OperationContext[Message], plan: ClusterPlan, backup_type: str) -> str:
    started = ctx.clock.now()
    backup_id = backup_id_for(plan.record.id, started.strftime("%Y%m%dT%H%M%S"))
    with ctx.db.write() as conn:
        if backup_store.get(conn, backup_id) is not None:  # two backups within one second
            backup_id = backup_id_for(plan.record.id, started.strftime("%Y%m%dT%H%M%S.%f"))
        backup_store.insert(
            conn,
            BackupRecord(
                id=backup_id,
                folder_id=plan.record.folder_id,
                source_cluster_id=plan.record.id,
                type=backup_type,
                status=backup_store.CREATING,
                started_at=started,
                source=source_description(plan),
            ),
        )
    return backup_id


def source_description(plan: ClusterPlan) -> dict[str, Any]:
    """What a restore may fall back on: the source's version, resources and layout."""
    return {
        "cluster_name": plan.record.name,
        "sharded": plan.record.sharded,
        "config_spec": json_format.MessageToDict(config_spec_of(plan.record)),
        "tls_enabled": declared_of(plan.record).tls_enabled,
        "shards": {shard.name: len(plan.shard_hosts(shard.name)) for shard in plan.shards},
    }


def backup_cluster(
    ctx: OperationContext[service_pb.BackupClusterRequest], backup_type: str = MANUAL
) -> cluster_pb2.Cluster:
    plan = ClusterPlan.load(ctx.db, ctx.deps, ctx.cluster_id)
    backup_id = ctx.once("name the backup", lambda: _start_backup(ctx, plan, backup_type))
    files = []
    for shard in plan.shards:

        def save(name: str = shard.name) -> dict[str, Any]:
            return save_shard(plan, backup_id, name)

        files.append(ctx.once(f"save shard {shard.name}", save))
    with ctx.db.write() as conn:
        backup_store.update(conn, backup_id, files=files, status=backup_store.DONE, created_at=ctx.clock.now())
    return steps.cluster_now(ctx.db, plan)


def backup_automated(ctx: OperationContext[service_pb.BackupClusterRequest]) -> cluster_pb2.Cluster:
    return backup_cluster(ctx, AUTOMATED)


def backup_failed(ctx: OperationContext[service_pb.BackupClusterRequest], error: ApiError) -> None:
    """A backup that could not be finished leaves no object and no entry behind."""
    backup_id = ctx.progress["steps"].get("name the backup")
    if backup_id is None:
        return
    for name, entry in ctx.progress["steps"].items():
        if name.startswith("save shard "):
            ctx.deps.backups.delete(entry["key"])
    with ctx.db.write() as conn:
        backup_store.delete(conn, backup_id)


def delete_backup(ctx: OperationContext[backup_service_pb.DeleteBackupRequest]) -> empty_pb2.Empty:
    with ctx.db.read() as conn:
        record = backup_store.get(conn, ctx.request.backup_id)
    if record is not None:
        remove_backup(ctx.db, ctx.deps.backups, record)
    return empty_pb2.Empty()


def remove_backup(db: Database, store: BackupStore, record: BackupRecord) -> None:
    """Delete a backup's objects, then its entry (so a crash in between can be finished later)."""
    for entry in record.files:
        store.delete(entry["key"])
    with db.write() as conn:
        backup_store.delete(conn, record.id)
