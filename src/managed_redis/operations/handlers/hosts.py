"""Handlers of host operations: add replicas, remove hosts, change host settings."""

from __future__ import annotations

from google.protobuf import empty_pb2
from google.protobuf.message import Message
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.domain.topology import DEFAULT_SHARD
from managed_redis.domain.update_masks import host_spec_values
from managed_redis.engine.switchover import wait_priorities_seen
from managed_redis.errors import ApiError
from managed_redis.operations import steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.handlers.failover import choose_target
from managed_redis.operations.handlers.shards import join_hosts, leave
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.parallel import for_each
from managed_redis.statuses import ClusterStatus, HostState
from managed_redis.store import clusters as cluster_store
from managed_redis.store import maintenances as maintenance_store
from managed_redis.store.clusters import HostRecord


def _set_state(ctx: OperationContext[Message], hosts: list[HostRecord], state: str) -> None:
    with ctx.db.write() as conn:
        for host in hosts:
            cluster_store.update_host(conn, host.name, state=state)


def add_hosts(ctx: OperationContext[service_pb.AddClusterHostsRequest]) -> empty_pb2.Empty:
    plan = LoadedCluster.of_operation(ctx)
    engine = plan.deps.engine
    new_hosts = [host for host in plan.hosts if host.state == HostState.ADDING]
    ctx.once(steps.CLAIM_ADDRESSES, lambda: steps.claim_addresses(plan, new_hosts))
    if plan.record.sharded:
        for shard_name in sorted({host.shard_name for host in new_hosts}):

            def join(shard: str = shard_name) -> None:
                joining = [host for host in new_hosts if host.shard_name == shard]
                join_hosts(plan, joining, steps.current_master(plan, shard))

            ctx.once(f"join shard {shard_name}", join)
        _set_state(ctx, new_hosts, HostState.ACTIVE)
        maintenance_store.record_running(ctx.db, plan.record.id, plan.version.full_version, only_if_unknown=True)
        steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
        steps.look_again(ctx.db, plan)
        return empty_pb2.Empty()
    master = steps.current_master(plan)
    master_node = plan.node(master, None)

    def start_replicas() -> None:
        plan.issue_certificates(new_hosts)
        replicas = [plan.node(host, master) for host in new_hosts]
        for_each(engine.ensure_node, replicas)
        for_each(lambda node: engine.wait_in_sync(node, master_node), replicas)

    ctx.once("start new replicas", start_replicas)
    ctx.once(steps.REFRESH_SENTINELS, lambda: steps.refresh_sentinels(plan, master))
    _set_state(ctx, new_hosts, HostState.ACTIVE)
    maintenance_store.record_running(ctx.db, plan.record.id, plan.version.full_version, only_if_unknown=True)
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
    steps.look_again(ctx.db, plan)
    return empty_pb2.Empty()


def add_hosts_failed(ctx: OperationContext[service_pb.AddClusterHostsRequest], error: ApiError) -> None:
    """Hosts that could not join are removed again; the rest of the cluster runs on."""
    plan = LoadedCluster.of_operation(ctx)
    new_hosts = [host for host in plan.hosts if host.state == HostState.ADDING]
    if plan.record.sharded:
        leave(plan, new_hosts)
    else:
        steps.remove_hosts(plan, new_hosts)
    with ctx.db.write() as conn:
        for host in new_hosts:
            cluster_store.delete_host(conn, host.name)
    remaining = LoadedCluster.of_operation(ctx)
    if not remaining.record.sharded:
        steps.refresh_sentinels(remaining, steps.current_master(remaining))
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)


def delete_hosts(ctx: OperationContext[service_pb.DeleteClusterHostsRequest]) -> empty_pb2.Empty:
    plan = LoadedCluster.of_operation(ctx)
    leaving = [host for host in plan.hosts if host.state == HostState.REMOVING]

    def move_master_away(shard_name: str) -> str:
        master = steps.current_master(plan, shard_name)
        if master.state != HostState.REMOVING:
            return master.name
        request = service_pb.StartClusterFailoverRequest(
            failover_type=service_pb.StartClusterFailoverRequest.SWITCH_FROM_HOSTNAMES,
            host_names=[host.name for host in leaving],
        )
        target = choose_target(plan, master, request)
        assert target is not None
        steps.switch_master(plan, master, target)
        return target.name

    masters = {}
    for shard_name in sorted({host.shard_name for host in leaving}):

        def move(shard: str = shard_name) -> str:
            return move_master_away(shard)

        name = ctx.once(f"move master off leaving hosts of {shard_name}", move)
        masters[shard_name] = plan.host(name)
        steps.record_master(ctx.db, plan, shard_name, name)
    if plan.record.sharded:
        ctx.once("stop leaving hosts", lambda: leave(plan, leaving))
    else:

        def stop_leaving() -> None:
            steps.write_alone(plan, masters[DEFAULT_SHARD], {host.name for host in leaving})
            steps.remove_hosts(plan, leaving)

        ctx.once("stop leaving hosts", stop_leaving)
    with ctx.db.write() as conn:
        for host in leaving:
            cluster_store.delete_host(conn, host.name)
    remaining = LoadedCluster.of_operation(ctx)
    if not remaining.record.sharded:
        master = masters[DEFAULT_SHARD]
        ctx.once(steps.REFRESH_SENTINELS, lambda: steps.refresh_sentinels(remaining, master))
        steps.rewrite_node_files(remaining, master)
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
    steps.look_again(ctx.db, plan)
    return empty_pb2.Empty()


def update_hosts(ctx: OperationContext[service_pb.UpdateClusterHostsRequest]) -> empty_pb2.Empty:
    """Store the hosts' new settings, apply them live, and finish only once every part that
    acts on them has them: each Sentinel must report the new replica priorities (they choose
    whom to promote by them), or a failover right after could still pick an excluded replica."""
    plan = LoadedCluster.of_operation(ctx)
    request = ctx.request
    engine = plan.deps.engine
    master = steps.current_master(plan)
    for spec in request.update_host_specs:
        with ctx.db.write() as conn:
            cluster_store.update_host(conn, spec.host_name, **host_spec_values(spec))
    updated = LoadedCluster.of_operation(ctx)
    seen: dict[str, int] = {}
    for spec in request.update_host_specs:
        host = updated.host(spec.host_name)
        node = updated.node(host, None if host.name == master.name else master)
        directives = [("replica-priority", str(node.replica_priority))]
        if updated.record.sharded:
            directives.append(("cluster-replica-no-failover", "yes" if node.replica_priority == 0 else "no"))
        engine.config_set(node, directives)
        if host.name != master.name:
            seen[host.address] = node.replica_priority
    if seen and not updated.record.sharded:
        sentinels = [updated.sentinel(host, master) for host in updated.hosts]
        ctx.once("wait until the sentinels see the priorities", lambda: wait_priorities_seen(engine, sentinels, seen))
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
    steps.look_again(ctx.db, plan)
    return empty_pb2.Empty()
