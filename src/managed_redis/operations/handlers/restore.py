"""Restore: a new cluster whose shards start from a backup's snapshots.

Each shard's master loads its snapshot as it streams out of the backup store (see
``LocalEngine.load_streamed``): decompressing and hashing on one core, Redis parsing on
another. The SHA-256 and size recorded when the backup was stored are checked when the last
byte has passed, before anything else happens: a mismatch, a missing object or a damaged
stream kills the loading master, fails the operation, and the failure handler removes every
process and file of the new cluster. Only then do replicas and Sentinels start.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.backup_store import BackupObjectMissing
from managed_redis.backup_store.stream import ChecksumMismatch, write_verified
from managed_redis.errors import DataLoss, FailedPrecondition
from managed_redis.operations import steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.plans import ClusterPlan
from managed_redis.store import backups as backup_store
from managed_redis.store.backups import BackupRecord

LOAD_TIMEOUT_S = 3600.0


def _backup(ctx: OperationContext[Any]) -> BackupRecord:
    with ctx.db.read() as conn:
        record = backup_store.get(conn, ctx.request.backup_id)
    if record is None or record.status != backup_store.DONE:
        raise FailedPrecondition(f"backup {ctx.request.backup_id} no longer exists")
    return record


def load_shard(plan: ClusterPlan, backup: BackupRecord, source_shard: str, target_shard: str) -> str:
    """Load ``source_shard``'s snapshot into ``target_shard``'s master; returns the master's name."""
    entry = next(e for e in backup.files if e["shard"] == source_shard)
    master = plan.shard_master(target_shard)
    node = plan.node(master, None)
    engine = plan.deps.engine
    engine.stop_node(node, save=False)  # what an interrupted attempt may have left half-loaded

    def feed(out: BinaryIO) -> None:
        write_verified(plan.deps.backups.get(entry["key"]), out, entry["sha256"], entry["stored_bytes"])

    where = f"backup {backup.id}, shard {source_shard}"
    try:
        engine.load_streamed(node, feed, LOAD_TIMEOUT_S)
    except BackupObjectMissing:
        raise DataLoss(
            f"{where}: the file is missing from the backup store "
            f"({plan.deps.backups.description}/{entry['key']}); nothing was restored"
        ) from None
    except ChecksumMismatch as exc:
        raise DataLoss(f"{where}: the file is corrupt: {exc}; nothing was restored") from None
    except BrokenPipeError:
        raise DataLoss(
            f"{where}: Redis found the snapshot damaged and stopped reading it; nothing was restored"
        ) from None
    # Loaded with its AOF off; now the settings it really runs with (the AOF rewrite persists the data).
    engine.config_set(node, [("appendonly", "yes" if node.appendonly else "no")])
    return master.name


def restore_cluster(ctx: OperationContext[Any]) -> cluster_pb2.Cluster:
    plan = ClusterPlan.load(ctx.db, ctx.deps, ctx.cluster_id)
    backup = _backup(ctx)
    pairs = list(zip(sorted(backup.shard_names), sorted(shard.name for shard in plan.shards), strict=True))
    masters: dict[str, str] = {}
    for source_shard, target_shard in pairs:

        def load(source: str = source_shard, target: str = target_shard) -> str:
            return load_shard(plan, backup, source, target)

        masters[target_shard] = ctx.once(f"load shard {target_shard}", load)
        steps.record_master(ctx.db, plan, target_shard, masters[target_shard])

        def start(name: str = target_shard) -> str:
            return steps.start_shard(plan, name, plan.host(masters[name]))

        ctx.once(f"start shard {target_shard}", start)
    if not plan.record.sharded:
        master_host = plan.host(masters[plan.shards[0].name])
        ctx.once("start sentinels", lambda: steps.start_sentinels(plan, master_host, fresh_config=True))
    steps.set_status(ctx.db, plan.record.id, "RUNNING")
    return steps.cluster_now(ctx.db, plan)
