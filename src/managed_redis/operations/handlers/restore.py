"""Restore: a new cluster whose shards start from a backup's snapshots.

For each shard: the object is read from the backup store, its SHA-256 and size checked
against what was recorded when it was stored, and only then written as ``dump.rdb`` into
the shard master's directory. A missing or damaged object fails the operation before any
Redis sees it, and the failure handler removes every process and file of the new cluster.

Every shard loads at once. In a non-sharded cluster the replicas load the same file beside
their master when it records its replication position, and then link up with it by partial
sync instead of a full copy of the data each. Cluster-mode replicas must start empty to
join their master, so they copy from it once the cluster forms. Sentinels start last.
"""

from __future__ import annotations

import logging
import time

from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.backup_store import BackupObjectMissing
from managed_redis.backup_store.stream import ChecksumMismatch, restore_verified
from managed_redis.errors import DataLoss, FailedPrecondition
from managed_redis.operations import sharding, steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.parallel import for_each
from managed_redis.statuses import BackupStatus, ClusterStatus
from managed_redis.store import backups as backup_store
from managed_redis.store import maintenances as maintenance_store
from managed_redis.store.backups import BackupRecord

log = logging.getLogger(__name__)

LOAD_TIMEOUT_S = 3600.0


def _backup(ctx: OperationContext[service_pb.RestoreClusterRequest]) -> BackupRecord:
    with ctx.db.read() as conn:
        record = backup_store.get(conn, ctx.request.backup_id)
    if record is None or record.status != BackupStatus.DONE:
        raise FailedPrecondition(f"backup {ctx.request.backup_id} no longer exists")
    return record


def load_shard(plan: LoadedCluster, backup: BackupRecord, source_shard: str, target_shard: str) -> str:
    """Start ``target_shard`` from ``source_shard``'s verified snapshot; returns its master's name."""
    entry = next(e for e in backup.files if e.shard == source_shard)
    master = plan.shard_master(target_shard)
    plan.issue_certificates(plan.shard_hosts(target_shard))
    node = plan.node(master, None)
    engine = plan.deps.engine
    replicas = [plan.node(host, master) for host in plan.shard_hosts(target_shard) if host.name != master.name]
    for stale in [node, *replicas]:  # whatever an interrupted attempt left running
        engine.stop_node(stale, save=False)
    node.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    where = f"backup {backup.id}, shard {source_shard}"
    started = time.monotonic()
    try:
        written = restore_verified(
            plan.deps.backups.get(entry.key), engine.rdb_path(node), entry.sha256, entry.stored_bytes
        )
    except BackupObjectMissing:
        raise DataLoss(
            f"{where}: the file is missing from the backup store "
            f"({plan.deps.backups.description}/{entry.key}); nothing was restored"
        ) from None
    except ChecksumMismatch as exc:
        raise DataLoss(f"{where}: the file is corrupt: {exc}; nothing was restored") from None
    log.info("%s: %d bytes verified and placed in %.2f s", where, written, time.monotonic() - started)
    loading = [node]
    if not plan.record.sharded and engine.shares_snapshot(node):
        for replica in replicas:
            engine.share_snapshot(node, replica)
        loading += replicas
    for_each(lambda loader: engine.load_snapshot(loader, LOAD_TIMEOUT_S), loading)
    return master.name


def restore_cluster(ctx: OperationContext[service_pb.RestoreClusterRequest]) -> cluster_pb2.Cluster:
    plan = LoadedCluster.of_operation(ctx)
    backup = _backup(ctx)
    pairs = list(zip(sorted(backup.shard_names), sorted(shard.name for shard in plan.shards), strict=True))
    ctx.once(steps.CLAIM_ADDRESSES, lambda: steps.claim_addresses(plan, plan.hosts))

    def load_every_shard() -> dict[str, str]:
        loaded = for_each(lambda pair: load_shard(plan, backup, *pair), pairs)
        return {target: master for (_, target), master in zip(pairs, loaded, strict=True)}

    masters: dict[str, str] = ctx.once("load the snapshots", load_every_shard)
    for shard_name, master_name in masters.items():
        steps.record_master(ctx.db, plan, shard_name, master_name)
    if plan.record.sharded:
        # Each shard holds the slots its source shard held, so every key is where it belongs.
        held = {entry.shard: list(entry.slots) for entry in backup.files}
        layout = {target: held[source] for source, target in pairs}
        ctx.once(steps.FORM_THE_CLUSTER, lambda: sharding.form(plan, layout))
    else:
        shard_name = plan.shards[0].name
        master = plan.host(masters[shard_name])
        ctx.once(steps.START_SHARD.format(shard=shard_name), lambda: steps.start_shard(plan, shard_name, master))
        ctx.once(steps.START_SENTINELS, lambda: steps.start_sentinels(plan, master, fresh_config=True))
    maintenance_store.record_running(ctx.db, plan.record.id, plan.version.full_version)
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
    return steps.cluster_now(ctx.db, plan)
