"""Handlers of shard operations on sharded clusters, and of turning sharding on."""

from __future__ import annotations

import dataclasses

from google.protobuf import empty_pb2
from google.protobuf.message import Message
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.domain.topology import DEFAULT_SHARD
from managed_redis.engine.slots import SLOTS
from managed_redis.errors import ApiError
from managed_redis.operations import sharding, sharding_switch, steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.parallel import for_each
from managed_redis.statuses import ClusterStatus, HostState
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import HostRecord


def join_hosts(plan: LoadedCluster, hosts: list[HostRecord], master: HostRecord) -> None:
    """Start ``hosts`` (of one shard whose master is ``master``), meet them into the cluster
    and make the non-masters replicate it."""
    cluster = sharding.ops(plan)
    engine = plan.deps.engine
    plan.issue_certificates(hosts)
    members = [plan.node(h, None) for h in plan.hosts if h.state != HostState.ADDING and h.state != HostState.REMOVING]
    running = [node for node in members if engine.node_running(node)]
    nodes = {host.name: plan.node(host, None if host.name == master.name else master) for host in hosts}
    for_each(engine.ensure_node, list(nodes.values()))
    cluster.meet_directly(running, list(nodes.values()))
    everyone = [plan.node(h, None) for h in plan.hosts if h.state != HostState.REMOVING]
    cluster.wait_known(everyone, {cluster.node_id(n) for n in everyone})
    cluster.tell_slots(running, list(nodes.values()))
    master_id = cluster.node_id(plan.node(master, None))
    for host in hosts:
        if host.name != master.name:
            cluster.replicate(nodes[host.name], master_id)
    cluster.wait_healthy(list(nodes.values()))


def add_shard(ctx: OperationContext[service_pb.AddClusterShardRequest]) -> cluster_pb2.Shard:
    plan = LoadedCluster.of_operation(ctx)
    shard_name = ctx.request.shard_name
    new_hosts = plan.shard_hosts(shard_name)
    master = plan.shard_master(shard_name)
    ctx.once(steps.CLAIM_ADDRESSES, lambda: steps.claim_addresses(plan, new_hosts))
    ctx.once("start the shard's hosts", lambda: join_hosts(plan, new_hosts, master))
    steps.record_master(ctx.db, plan, shard_name, master.name)
    _set_state(ctx, new_hosts, HostState.ACTIVE)
    if sharding.rebalance_enabled(plan):
        ctx.once(steps.REBALANCE, lambda: dataclasses.asdict(sharding.rebalance(LoadedCluster.of_operation(ctx))))
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
    steps.look_again(ctx.db, plan)
    return cluster_pb2.Shard(name=shard_name, cluster_id=plan.record.id)


def add_shard_failed(ctx: OperationContext[service_pb.AddClusterShardRequest], error: ApiError) -> None:
    """A shard that could not join leaves again: its processes, its rows, its node ids."""
    plan = LoadedCluster.of_operation(ctx)
    shard_name = ctx.request.shard_name
    leaving = plan.shard_hosts(shard_name)
    if sharding.holds_slots(plan, shard_name):  # a rebalance that failed midway moved some here
        sharding.rebalance(plan, [shard.name for shard in plan.shards if shard.name != shard_name])
    leave(plan, leaving)
    with ctx.db.write() as conn:
        for host in leaving:
            cluster_store.delete_host(conn, host.name)
        cluster_store.delete_shard(conn, plan.record.id, shard_name)
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)


def leave(plan: LoadedCluster, leaving: list[HostRecord]) -> None:
    """Stop ``leaving`` hosts and make every remaining node forget them."""
    cluster = sharding.ops(plan)
    engine = plan.deps.engine
    ids = []
    for host in leaving:
        node = plan.node(host, None)
        if engine.node_running(node):
            ids.append(cluster.node_id(node))
    steps.remove_hosts(plan, leaving)
    staying = [plan.node(h, None) for h in plan.hosts if h not in leaving]
    cluster.forget([n for n in staying if engine.node_running(n)], ids)


def delete_shard(ctx: OperationContext[service_pb.DeleteClusterShardRequest]) -> empty_pb2.Empty:
    plan = LoadedCluster.of_operation(ctx)
    shard_name = ctx.request.shard_name
    staying = [shard.name for shard in plan.shards if shard.name != shard_name]
    ctx.once("move the shard's slots away", lambda: dataclasses.asdict(sharding.rebalance(plan, staying)))
    ctx.once("remove the shard's hosts", lambda: leave(plan, plan.shard_hosts(shard_name)))
    with ctx.db.write() as conn:
        for host in plan.shard_hosts(shard_name):
            cluster_store.delete_host(conn, host.name)
        cluster_store.delete_shard(conn, plan.record.id, shard_name)
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
    steps.look_again(ctx.db, plan)
    return empty_pb2.Empty()


def rebalance(ctx: OperationContext[service_pb.RebalanceClusterRequest]) -> cluster_pb2.Cluster:
    plan = LoadedCluster.of_operation(ctx)
    ctx.once(steps.REBALANCE, lambda: dataclasses.asdict(sharding.rebalance(plan)))
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
    return steps.cluster_now(ctx.db, plan)


def enable_sharding(ctx: OperationContext[service_pb.EnableShardingClusterRequest]) -> cluster_pb2.Cluster:
    """Restart every host in cluster mode from a fresh snapshot, never from its AOF: the
    master keeps its data and takes all the slots; the replicas start empty and copy it.
    Sentinels are gone for good. Writes during the switch: see ``sharding_switch``."""
    plan = LoadedCluster.of_operation(ctx)
    master = plan.host(ctx.once("find master", lambda: steps.current_master(plan).name))
    steps.record_master(ctx.db, plan, DEFAULT_SHARD, master.name)
    ctx.once("restart the hosts in cluster mode", lambda: sharding_switch.restart_in_cluster_mode(plan, master))
    with ctx.db.write() as conn:
        cluster_store.update(conn, plan.record.id, sharded=True)
    sharded = LoadedCluster.of_operation(ctx)
    ctx.once(steps.FORM_THE_CLUSTER, lambda: sharding.form(sharded, {DEFAULT_SHARD: [(0, SLOTS - 1)]}))
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)
    return steps.cluster_now(ctx.db, sharded)


def enable_sharding_failed(ctx: OperationContext[service_pb.EnableShardingClusterRequest], error: ApiError) -> None:
    """A failure before the cluster is recorded as sharded puts every host back as it ran
    (non-sharded, under Sentinels); after, its hosts run in cluster mode already and it is
    left RUNNING as a sharded cluster for the supervisor to heal."""
    plan = LoadedCluster.of_operation(ctx)
    if not plan.record.sharded:
        master = sharding_switch.put_back(plan)
        steps.record_master(ctx.db, plan, DEFAULT_SHARD, master.name)
    steps.set_status(ctx.db, plan.record.id, ClusterStatus.RUNNING)


def _set_state(ctx: OperationContext[Message], hosts: list[HostRecord], state: str) -> None:
    with ctx.db.write() as conn:
        for host in hosts:
            cluster_store.update_host(conn, host.name, state=state)
