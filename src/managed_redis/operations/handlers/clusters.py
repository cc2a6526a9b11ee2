"""Handlers of whole-cluster operations: create, start, stop, delete, move."""

from __future__ import annotations

from typing import Any

from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.errors import ApiError
from managed_redis.operations import steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.plans import ClusterPlan


def _plan(ctx: OperationContext[Any]) -> ClusterPlan:
    return ClusterPlan.load(ctx.db, ctx.deps, ctx.cluster_id)


def create_cluster(ctx: OperationContext[Any]) -> cluster_pb2.Cluster:
    plan = _plan(ctx)
    masters: dict[str, str] = {}
    for shard in plan.shards:

        def start(name: str = shard.name) -> str:
            return steps.start_shard(plan, name)

        masters[shard.name] = ctx.once(f"start shard {shard.name}", start)
        steps.record_master(ctx.db, plan, shard.name, masters[shard.name])
    if not plan.record.sharded:
        master_host = plan.host(masters[plan.shards[0].name])
        ctx.once("start sentinels", lambda: steps.start_sentinels(plan, master_host, fresh_config=True))
    steps.set_status(ctx.db, plan.record.id, "RUNNING")
    return steps.cluster_now(ctx.db, plan)


def create_failed(ctx: OperationContext[Any], error: ApiError) -> None:
    """A cluster that could not be created keeps no process and no data; it shows ERROR."""
    plan = _plan(ctx)
    steps.remove_hosts(plan, plan.hosts)
    steps.set_status(ctx.db, plan.record.id, "ERROR")
