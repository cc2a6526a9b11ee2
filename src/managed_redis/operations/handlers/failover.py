"""StartFailover: a planned switchover of the master role, losing no acknowledged write."""

from __future__ import annotations

import logging

from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis import failpoints
from managed_redis.domain.failover import FailoverAsk
from managed_redis.domain.topology import DEFAULT_REPLICA_PRIORITY
from managed_redis.engine.facts import Role
from managed_redis.errors import FailedPrecondition
from managed_redis.operations import steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.observing import live_redis
from managed_redis.statuses import ClusterStatus
from managed_redis.store.clusters import HostRecord

log = logging.getLogger(__name__)


def choose_target(
    plan: LoadedCluster, master: HostRecord, request: service_pb.StartClusterFailoverRequest
) -> HostRecord | None:
    """The replica of ``master``'s shard to promote, or None when the master already
    satisfies the request. Only the request's hosts of this shard count."""
    members = plan.shard_hosts(master.shard_name)
    ask = FailoverAsk.of(request).within(host.name for host in members)
    if ask.master_may_stay(master):
        return None
    seen = live_redis(plan)
    candidates = [
        host
        for host in members
        if host.name != master.name
        and seen[host.name].role == Role.REPLICA
        and seen[host.name].link_up
        and host.replica_priority != 0
        and ask.may_take_over(host, master)
    ]
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


def shards_involved(plan: LoadedCluster, request: service_pb.StartClusterFailoverRequest) -> list[str]:
    """The shards whose master the request may move (``FailoverAsk.shards``)."""
    return FailoverAsk.of(request).shards(
        plan.record.sharded, (shard.name for shard in plan.shards), lambda name: plan.host(name).shard_name
    )


def start_failover(ctx: OperationContext[service_pb.StartClusterFailoverRequest]) -> cluster_pb2.Cluster:
    """Per shard: choose the new master once (remembered), then switch once. A resumed attempt
    finds the choice it made and switches only if the master is still where it was."""
    plan = LoadedCluster.of_operation(ctx)
    request = ctx.request
    for shard_name in shards_involved(plan, request):

        def choose(shard: str = shard_name) -> dict[str, str | None]:
            master = steps.current_master(plan, shard)
            target = choose_target(plan, master, request)
            return {"from": master.name, "to": target.name if target else None}

        chosen = ctx.once(f"choose the new master of {shard_name}", choose)
        failpoints.reached("failover.chosen")
        old, target = str(chosen["from"]), chosen["to"]
        new_master = old
        if target is not None:

            def switch(shard: str = shard_name, old: str = old, new: str = target) -> str:
                return switch_once(plan, shard, old, new)

            new_master = ctx.once(f"switch the master of {shard_name}", switch)
        steps.record_master(ctx.db, plan, shard_name, new_master)
        if not plan.record.sharded:
            steps.rewrite_node_files(plan, plan.host(new_master))
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
    return steps.cluster_now(ctx.db, plan)


def switch_once(plan: LoadedCluster, shard: str, old: str, new: str) -> str:
    """Switch ``shard``'s master from ``old`` to ``new`` unless that is no longer to do; the
    master's name at the end.

    After a crash this runs again, and the switch may already have happened (its end was not
    recorded) or the master may have moved elsewhere meanwhile: only a master still at ``old``
    is switched. The Sentinels are first let settle, and priorities a crashed attempt left at
    0 are put back, so that nothing of the earlier attempt steers this one.
    """
    steps.settle(plan, shard)
    current = steps.current_master(plan, shard)
    if current.name != old:
        log.info("cluster %s: the master of %s is %s already; no switch", plan.record.id, shard, current.name)
        return current.name
    steps.switch_master(plan, current, plan.host(new))
    failpoints.reached("failover.switched")
    return new
