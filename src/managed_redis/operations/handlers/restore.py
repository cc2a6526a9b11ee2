"""Restore: a new cluster whose shards start from a backup's snapshots.

For each shard, in one step: the object is read from the backup store, its SHA-256 and size
checked against what was recorded when it was stored, and only then written as
``dump.rdb`` into the shard master's directory, which starts from it. A missing or damaged
object fails the operation before any Redis sees it, and the failure handler removes every
process and file of the new cluster. Replicas and Sentinels start afterwards.
"""

from __future__ import annotations

from typing import Any

from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.backup_store import BackupObjectMissing
from managed_redis.backup_store.stream import ChecksumMismatch, restore_verified
from managed_redis.errors import DataLoss, FailedPrecondition
from managed_redis.operations import sharding, steps
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
    """Start ``target_shard``'s master from ``source_shard``'s verified snapshot; returns its name."""
    entry = next(e for e in backup.files if e["shard"] == source_shard)
    master = plan.shard_master(target_shard)
    node = plan.node(master, None)
    engine = plan.deps.engine
    engine.stop_node(node, save=False)  # whatever an interrupted attempt left running
    node.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    where = f"backup {backup.id}, shard {source_shard}"
    try:
        restore_verified(
            plan.deps.backups.get(entry["key"]), engine.rdb_path(node), entry["sha256"], entry["stored_bytes"]
        )
    except BackupObjectMissing:
        raise DataLoss(
            f"{where}: the file is missing from the backup store "
            f"({plan.deps.backups.description}/{entry['key']}); nothing was restored"
        ) from None
    except ChecksumMismatch as exc:
        raise DataLoss(f"{where}: the file is corrupt: {exc}; nothing was restored") from None
    engine.load_snapshot(node, LOAD_TIMEOUT_S)
    # Now the settings it really runs with; an AOF rewrite then persists the loaded data.
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
    if plan.record.sharded:
        # Each shard holds the slots its source shard held, so every key is where it belongs.
        held = {entry["shard"]: [(first, last) for first, last in entry.get("slots", [])] for entry in backup.files}
        layout = {target: held[source] for source, target in pairs}
        ctx.once("form the cluster", lambda: sharding.form(plan, layout))
    else:
        shard_name = plan.shards[0].name
        master = plan.host(masters[shard_name])
        ctx.once(f"start shard {shard_name}", lambda: steps.start_shard(plan, shard_name, master))
        ctx.once("start sentinels", lambda: steps.start_sentinels(plan, master, fresh_config=True))
    steps.set_status(ctx.db, plan.record.id, "RUNNING")
    return steps.cluster_now(ctx.db, plan)
