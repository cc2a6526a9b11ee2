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
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.observing import live_redis
from managed_redis.statuses import BackupStatus, BackupType
from managed_redis.store import backups as backup_store
from managed_redis.store import clusters as cluster_store
from managed_redis.store.backups import BackupFile, BackupRecord
from managed_redis.store.clusters import HostRecord
from managed_redis.store.database import Database

# Steps, by name as kept in the operation's progress; the failure hook reads them too.
NAME_THE_BACKUP = "name the backup"
SAVE_SHARD = "save shard {shard}"


def backup_id_for(cluster_id: str, started_at_text: str) -> str:
    return f"{cluster_id}:{started_at_text}"


def object_key(backup_id: str, shard_name: str) -> str:
    return f"{backup_id.replace(':', '/')}/{shard_name}.rdb.zst"


def source_host(plan: LoadedCluster, shard_name: str) -> HostRecord:
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


def shard_slots(plan: LoadedCluster, shard_name: str) -> tuple[tuple[int, int], ...]:
    """The slot ranges a sharded cluster's shard holds now (empty for a non-sharded one)."""
    if not plan.record.sharded:
        return ()
    cluster = sharding.ops(plan)
    master = plan.node(sharding.live_master(plan, shard_name), None)
    held = cluster.owners(master).get(cluster.node_id(master), set())
    return tuple((first, last) for first, last in ranges(held))


def save_shard(plan: LoadedCluster, backup_id: str, shard_name: str) -> BackupFile:
    """Snapshot the shard on its ``source_host`` and store it compressed; what was stored."""
    slots = shard_slots(plan, shard_name)
    host = source_host(plan, shard_name)
    rdb = plan.deps.engine.bgsave(plan.node(host, None))
    digest = Digest()
    key = object_key(backup_id, shard_name)
    plan.deps.backups.put(key, compress(rdb, digest))
    return BackupFile(
        shard=shard_name,
        key=key,
        sha256=digest.sha256,
        stored_bytes=digest.stored_bytes,
        raw_bytes=digest.raw_bytes,
        source_host=host.name,
        slots=slots,
    )


def _start_backup(ctx: OperationContext[Message], plan: LoadedCluster, backup_type: BackupType) -> str:
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
                status=BackupStatus.CREATING,
                started_at=started,
                source=source_description(plan),
            ),
        )
    return backup_id


def source_description(plan: LoadedCluster) -> dict[str, Any]:
    """What a restore may fall back on: the source's version, resources and layout."""
    return {
        "cluster_name": plan.record.name,
        "sharded": plan.record.sharded,
        "config_spec": json_format.MessageToDict(config_spec_of(plan.record)),
        "tls_enabled": declared_of(plan.record).tls_enabled,
        "shards": {shard.name: len(plan.shard_hosts(shard.name)) for shard in plan.shards},
    }


def backup_cluster(
    ctx: OperationContext[service_pb.BackupClusterRequest], backup_type: BackupType = BackupType.MANUAL
) -> cluster_pb2.Cluster:
    plan = LoadedCluster.of_operation(ctx)
    backup_id = ctx.once(NAME_THE_BACKUP, lambda: _start_backup(ctx, plan, backup_type))
    files = []
    for shard in plan.shards:

        def save(name: str = shard.name) -> BackupFile:
            return save_shard(plan, backup_id, name)

        files.append(ctx.once_as(SAVE_SHARD.format(shard=shard.name), BackupFile, save))
    with ctx.db.write() as conn:
        backup_store.mark_done(conn, backup_id, files, ctx.clock.now())
    return steps.cluster_now(ctx.db, plan)


def backup_automated(ctx: OperationContext[service_pb.BackupClusterRequest]) -> cluster_pb2.Cluster:
    return backup_cluster(ctx, BackupType.AUTOMATED)


def backup_failed(ctx: OperationContext[service_pb.BackupClusterRequest], error: ApiError) -> None:
    """A backup that could not be finished leaves no object and no entry behind."""
    backup_id = ctx.result(NAME_THE_BACKUP)
    if backup_id is None:
        return
    with ctx.db.read() as conn:
        shards = cluster_store.list_shards(conn, ctx.cluster_id)
    for shard in shards:
        saved = ctx.result(SAVE_SHARD.format(shard=shard.name))
        if saved is not None:
            ctx.deps.backups.delete(BackupFile.from_json(saved).key)
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
        store.delete(entry.key)
    with db.write() as conn:
        backup_store.delete(conn, record.id)
