"""Restore: a new cluster whose shards start from a backup's snapshots.

Each shard's object is fetched from the backup store and checked against the SHA-256 and
size recorded when it was stored; only then is it written as ``dump.rdb`` into the shard
master's directory, before that master first starts. A missing or damaged object fails the
operation, and the failure handler removes every process and file of the new cluster.
"""

from __future__ import annotations

from typing import Any

from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.backup_store import BackupObjectMissing
from managed_redis.backup_store.stream import ChecksumMismatch, restore_verified
from managed_redis.errors import DataLoss, FailedPrecondition
from managed_redis.operations import steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.plans import ClusterPlan
from managed_redis.store import backups as backup_store
from managed_redis.store.backups import BackupRecord


def _backup(ctx: OperationContext[Any]) -> BackupRecord:
    with ctx.db.read() as conn:
        record = backup_store.get(conn, ctx.request.backup_id)
    if record is None or record.status != backup_store.DONE:
        raise FailedPrecondition(f"backup {ctx.request.backup_id} no longer exists")
    return record


def fetch_shard(plan: ClusterPlan, backup: BackupRecord, source_shard: str, target_shard: str) -> int:
    """Place the verified snapshot of ``source_shard`` as the data of ``target_shard``'s master."""
    entry = next(e for e in backup.files if e["shard"] == source_shard)
    master = plan.shard_master(target_shard)
    directory = plan.directory(master)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        return restore_verified(
            plan.deps.backups.get(entry["key"]),
            directory / "dump.rdb",
            entry["sha256"],
            entry["stored_bytes"],
        )
    except BackupObjectMissing:
        raise DataLoss(
            f"backup {backup.id}: the file of shard {source_shard} is missing from the backup store "
            f"({plan.deps.backups.description}/{entry['key']}); nothing was restored"
        ) from None
    except ChecksumMismatch as exc:
        raise DataLoss(
            f"backup {backup.id}: the file of shard {source_shard} is corrupt: {exc}; nothing was restored"
        ) from None


def restore_cluster(ctx: OperationContext[Any]) -> cluster_pb2.Cluster:
    plan = ClusterPlan.load(ctx.db, ctx.deps, ctx.cluster_id)
    backup = _backup(ctx)
    pairs = list(zip(sorted(backup.shard_names), sorted(shard.name for shard in plan.shards), strict=True))
    for source_shard, target_shard in pairs:

        def fetch(source: str = source_shard, target: str = target_shard) -> int:
            return fetch_shard(plan, backup, source, target)

        ctx.once(f"fetch shard {target_shard}", fetch)
    masters: dict[str, str] = {}
    for _, target_shard in pairs:

        def start(name: str = target_shard) -> str:
            return steps.start_shard(plan, name, from_snapshot=True)

        masters[target_shard] = ctx.once(f"start shard {target_shard}", start)
        steps.record_master(ctx.db, plan, target_shard, masters[target_shard])
    if not plan.record.sharded:
        master_host = plan.host(masters[plan.shards[0].name])
        ctx.once("start sentinels", lambda: steps.start_sentinels(plan, master_host, fresh_config=True))
    steps.set_status(ctx.db, plan.record.id, "RUNNING")
    return steps.cluster_now(ctx.db, plan)
