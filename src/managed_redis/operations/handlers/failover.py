"""StartFailover: a planned switchover of the master role, losing no acknowledged write."""

from __future__ import annotations

from typing import Any

from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.domain.topology import DEFAULT_REPLICA_PRIORITY
from managed_redis.engine.facts import Role
from managed_redis.errors import FailedPrecondition
from managed_redis.operations import steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.observing import live_redis
from managed_redis.operations.plans import ClusterPlan
from managed_redis.store.clusters import HostRecord

FailoverType = service_pb.StartClusterFailoverRequest.FailoverType


def choose_target(
    plan: ClusterPlan, master: HostRecord, request: service_pb.StartClusterFailoverRequest
) -> HostRecord | None:
    """The replica of ``master``'s shard to promote, or None when the master already
    satisfies the request. Only the request's hosts of this shard count."""
    members = plan.shard_hosts(master.shard_name)
    names = set(request.host_names) & {host.name for host in members}
    kind = request.failover_type
    if kind == FailoverType.SWITCH_FROM_ZONE and master.zone_id != request.zone_id:
        return None
    if kind == FailoverType.SWITCH_FROM_HOSTNAMES and master.name not in names:
        return None
    if kind == FailoverType.SWITCH_TO_HOSTNAMES and master.name in names:
        return None
    seen = live_redis(plan)
    candidates = [
        host
        for host in members
        if host.name != master.name
        and seen[host.name].role == Role.REPLICA
        and seen[host.name].link_up
        and host.replica_priority != 0
    ]
    promote = names - {master.name}
    if kind == FailoverType.SWITCH_TO_HOSTNAMES or (kind == FailoverType.FAILOVER_TYPE_UNSPECIFIED and promote):
        candidates = [host for host in candidates if host.name in promote]
    elif kind == FailoverType.SWITCH_FROM_HOSTNAMES:
        candidates = [host for host in candidates if host.name not in names]
    elif kind == FailoverType.SWITCH_FROM_ZONE:
        candidates = [host for host in candidates if host.zone_id != request.zone_id]
    if not candidates:
        raise FailedPrecondition(
            f"shard {master.shard_name} of cluster {plan.record.id} has no healthy replica that may become "
            "master here (replica_priority 0 never does)"
        )
    # Redis's own rule: the lowest replica-priority wins; ties go to the first host.
    return min(
        candidates,
        key=lambda host: DEFAULT_REPLICA_PRIORITY if host.replica_priority is None else host.replica_priority,
    )


def shards_involved(plan: ClusterPlan, request: service_pb.StartClusterFailoverRequest) -> list[str]:
    """Every shard of a non-sharded cluster (its one); the named hosts' shards, or all
    shards for SWITCH_FROM_ZONE, of a sharded one."""
    if not plan.record.sharded or request.failover_type == FailoverType.SWITCH_FROM_ZONE:
        return [shard.name for shard in plan.shards]
    return sorted({plan.host(name).shard_name for name in request.host_names})


def start_failover(ctx: OperationContext[Any]) -> cluster_pb2.Cluster:
    plan = ClusterPlan.load(ctx.db, ctx.deps, ctx.cluster_id)
    request: service_pb.StartClusterFailoverRequest = ctx.request
    for shard_name in shards_involved(plan, request):

        def run(shard: str = shard_name) -> str:
            master = steps.current_master(plan, shard)
            target = choose_target(plan, master, request)
            if target is None:
                return master.name
            steps.switch_master(plan, master, target)
            return target.name

        new_master = plan.host(ctx.once(f"switch the master of {shard_name}", run))
        steps.record_master(ctx.db, plan, shard_name, new_master.name)
        if not plan.record.sharded:
            steps.rewrite_node_files(plan, new_master)
    steps.set_status(ctx.db, plan.record.id, "RUNNING")
    return steps.cluster_now(ctx.db, plan)
