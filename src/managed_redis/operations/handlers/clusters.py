"""Handlers of whole-cluster operations: create, start, stop, delete, move."""

from __future__ import annotations

from google.protobuf import empty_pb2
from google.protobuf.message import Message
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.errors import ApiError
from managed_redis.operations import sharding, steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.statuses import ClusterStatus
from managed_redis.store import backups as backup_store
from managed_redis.store import clusters as cluster_store
from managed_redis.store import maintenances as maintenance_store


def create_cluster(ctx: OperationContext[service_pb.CreateClusterRequest]) -> cluster_pb2.Cluster:
    plan = LoadedCluster.of_operation(ctx)
    ctx.once(steps.CLAIM_ADDRESSES, lambda: steps.claim_addresses(plan, plan.hosts))
    if plan.record.sharded:
        for shard_name, master_name in ctx.once("form cluster", lambda: sharding.form(plan)).items():
            steps.record_master(ctx.db, plan, shard_name, master_name)
    else:
        shard_name = plan.shards[0].name
        master_name = ctx.once(steps.START_SHARD.format(shard=shard_name), lambda: steps.start_shard(plan, shard_name))
        steps.record_master(ctx.db, plan, shard_name, master_name)
        master_host = plan.host(master_name)
        ctx.once(steps.START_SENTINELS, lambda: steps.start_sentinels(plan, master_host, fresh_config=True))
    maintenance_store.record_running(ctx.db, plan.record.id, plan.version.full_version)
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
    return steps.cluster_now(ctx.db, plan)


def create_failed(ctx: OperationContext[Message], error: ApiError) -> None:
    """A cluster that could not be created keeps no process and no data; it shows ERROR."""
    plan = LoadedCluster.of_operation(ctx)
    steps.remove_hosts(plan, plan.hosts)
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.ERROR)


def delete_cluster(ctx: OperationContext[service_pb.DeleteClusterRequest]) -> empty_pb2.Empty:
    plan = LoadedCluster.of_operation(ctx)
    ctx.once("remove hosts", lambda: steps.remove_hosts(plan, plan.hosts))
    with ctx.db.write() as conn:
        # Its backups stay, for 7 days from now (see the scheduler).
        backup_store.mark_cluster_deleted(conn, plan.record.id, ctx.clock.now())
        cluster_store.delete(conn, plan.record.id)
    return empty_pb2.Empty()


def stop_cluster(ctx: OperationContext[service_pb.StopClusterRequest]) -> cluster_pb2.Cluster:
    plan = LoadedCluster.of_operation(ctx)

    def remember_masters() -> dict[str, str]:
        return {shard.name: steps.current_master(plan, shard.name).name for shard in plan.shards}

    for shard, master in ctx.once("find masters", remember_masters).items():
        steps.record_master(ctx.db, plan, shard, master)
    # Saved on the way down (SHUTDOWN SAVE), whatever the persistence mode.
    ctx.once("stop hosts", lambda: steps.stop_hosts(plan, plan.hosts, save=True))
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.STOPPED)
    return steps.cluster_now(ctx.db, plan)


def start_cluster(ctx: OperationContext[service_pb.StartClusterRequest]) -> cluster_pb2.Cluster:
    plan = LoadedCluster.of_operation(ctx)
    if plan.record.sharded:
        # Each node's nodes.conf remembers the cluster: starting them all is enough.
        masters = {shard.name: plan.shard_master(shard.name) for shard in plan.shards}

        def start_all() -> None:
            sharding.start_nodes(plan, plan.hosts, masters)
            sharding.ops(plan).wait_healthy(sharding.nodes_of(plan, masters, plan.hosts))

        ctx.once("start hosts", start_all)
        maintenance_store.record_running(ctx.db, plan.record.id, plan.version.full_version)
        steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
        return steps.cluster_now(ctx.db, plan)
    shard = plan.shards[0].name
    master = plan.shard_master(shard)
    ctx.once("start hosts", lambda: steps.start_shard(plan, shard, master))
    ctx.once(steps.START_SENTINELS, lambda: steps.start_sentinels(plan, master, fresh_config=True))
    maintenance_store.record_running(ctx.db, plan.record.id, plan.version.full_version)
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
    return steps.cluster_now(ctx.db, plan)


def start_failed(ctx: OperationContext[service_pb.StartClusterRequest], error: ApiError) -> None:
    """A cluster that could not start is stopped again, whatever part of it came up."""
    plan = LoadedCluster.of_operation(ctx)
    steps.stop_hosts(plan, plan.hosts, save=True)
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.STOPPED)


def move_cluster(ctx: OperationContext[service_pb.MoveClusterRequest]) -> cluster_pb2.Cluster:
    request = ctx.request
    with ctx.db.write() as conn:
        cluster_store.update(conn, ctx.cluster_id, folder_id=request.destination_folder_id)
    return steps.cluster_now(ctx.db, LoadedCluster.of_operation(ctx))
