"""Steps the cluster handlers share; each is safe to run again after a crash."""

from __future__ import annotations

import logging

from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.clock import SYSTEM_CLOCK
from managed_redis.domain.cluster_view import cluster_proto
from managed_redis.engine.model import Node
from managed_redis.engine.switchover import calm, lift_fence, restore_priorities, switchover, wait_settled
from managed_redis.operations import sharding
from managed_redis.operations.health import cluster_health
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.observing import look
from managed_redis.operations.parallel import for_each
from managed_redis.statuses import ClusterStatus
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import HostRecord
from managed_redis.store.database import Database

log = logging.getLogger(__name__)

# Steps several handlers take, by the name an operation's progress keeps them under (a
# resumed attempt finds what it finished by these names: a name never changes).
CLAIM_ADDRESSES = "claim the addresses"
START_SHARD = "start shard {shard}"
START_SENTINELS = "start sentinels"
REFRESH_SENTINELS = "refresh sentinels"
FORM_THE_CLUSTER = "form the cluster"
REBALANCE = "rebalance"


def claim_addresses(plan: LoadedCluster, hosts: list[HostRecord]) -> None:
    """Make the new ``hosts``' addresses theirs alone: whatever an earlier owner of an address
    left running there is killed, its directory removed. Before anything of the new hosts is
    written (their certificates included)."""
    plan.deps.engine.clear_addresses([plan.watched(host) for host in hosts])


def start_shard(plan: LoadedCluster, shard_name: str, master: HostRecord | None = None) -> str:
    """Start the shard's master, then its replicas (replicating from it) and wait for sync.

    Returns the master's host name.
    """
    engine = plan.deps.engine
    master = master or plan.shard_master(shard_name)
    plan.issue_certificates(plan.shard_hosts(shard_name))
    master_node = plan.node(master, None)
    engine.ensure_node(master_node)
    replicas = [plan.node(host, master) for host in plan.shard_hosts(shard_name) if host.name != master.name]
    for_each(engine.ensure_node, replicas)
    for_each(lambda node: engine.wait_in_sync(node, master_node), replicas)
    return master.name


def start_sentinels(plan: LoadedCluster, master: HostRecord, fresh_config: bool) -> None:
    """Start a Sentinel on every host watching ``master``; return once they have a quorum."""
    engine = plan.deps.engine
    plan.issue_certificates()
    sentinels = [plan.sentinel(host, master) for host in plan.hosts]
    for_each(lambda sentinel: engine.ensure_sentinel(sentinel, fresh_config=fresh_config), sentinels)
    engine.wait_quorum(sentinels)


def stop_sentinels(plan: LoadedCluster) -> None:
    engine = plan.deps.engine
    for_each(lambda host: engine.stop_sentinel(plan.sentinel(host, host)), plan.hosts)


def stop_hosts(plan: LoadedCluster, hosts: list[HostRecord], save: bool) -> None:
    """Stop Redis (and, non-sharded, Sentinel) on ``hosts``; replicas first, masters last."""
    engine = plan.deps.engine
    if not plan.record.sharded:
        for_each(lambda host: engine.stop_sentinel(plan.sentinel(host, host)), hosts)
    nodes = {host.name: plan.node(host, None) for host in hosts}
    masters = {name for name, node in nodes.items() if _is_master(plan, node)}
    for_each(lambda name: engine.stop_node(nodes[name], save=save), [n for n in nodes if n not in masters])
    for_each(lambda name: engine.stop_node(nodes[name], save=save), sorted(masters))


def write_alone(plan: LoadedCluster, master: HostRecord, leaving: set[str]) -> None:
    """Before the hosts named ``leaving`` stop (restarted or removed), let ``master`` take
    writes alone if none of its shard's replicas stays: the guard the supervisor keeps while
    a replica is linked (``min-replicas-to-write 1``, ``upkeep.role_settings``) would refuse
    every write until the supervisor saw the master alone, and while an operation holds the
    cluster it does not look. The supervisor sets the guard again once a replica is linked.
    Non-sharded only (the guard is not used in Redis Cluster). Raises EngineError if the
    master refuses."""
    if plan.record.sharded:
        return
    staying = [h for h in plan.shard_hosts(master.shard_name) if h.name != master.name and h.name not in leaving]
    if not staying:
        plan.deps.engine.config_set(plan.node(master, None), [("min-replicas-to-write", "0")])


def _is_master(plan: LoadedCluster, node: Node) -> bool:
    engine = plan.deps.engine
    if not engine.node_running(node):
        return False
    try:
        return engine.replication(node).get("role") == "master"
    except Exception:
        return False


def remove_hosts(plan: LoadedCluster, hosts: list[HostRecord]) -> None:
    """Stop every process of ``hosts`` without saving and delete their directories."""
    engine = plan.deps.engine
    stop_hosts(plan, hosts, save=False)
    for host in hosts:
        engine.remove_directory(plan.directory(host))


def record_master(db: Database, plan: LoadedCluster, shard_name: str, host_name: str) -> None:
    with db.write() as conn:
        cluster_store.set_shard_master(conn, plan.record.id, shard_name, host_name)


def set_status(db: Database, cluster_id: str, status: ClusterStatus) -> None:
    with db.write() as conn:
        cluster_store.update(conn, cluster_id, status=status)


def cluster_now(db: Database, plan: LoadedCluster) -> cluster_pb2.Cluster:
    """The cluster as Get shows it once the operation is done, its hosts looked at just now."""
    fresh = LoadedCluster.load(db, plan.deps, plan.record.id)
    view = look(db, fresh)
    return cluster_proto(
        fresh.record,
        cluster_health(view, SYSTEM_CLOCK.now()),
        host_zones=view.active_host_zones(),
        versions=plan.deps.versions,
    )


def look_again(db: Database, plan: LoadedCluster) -> None:
    """Look at the cluster's hosts now and store what was seen, so reads after the operation
    show its result at once (operations whose response is not the cluster)."""
    look(db, LoadedCluster.load(db, plan.deps, plan.record.id))


def current_master(plan: LoadedCluster, shard_name: str | None = None) -> HostRecord:
    """A shard's master now: as its Sentinels name it (non-sharded) or as the nodes say
    (sharded), else as last recorded."""
    shard_name = shard_name or plan.shards[0].name
    if plan.record.sharded:
        return sharding.live_master(plan, shard_name)
    members = plan.shard_hosts(shard_name)
    by_address = {host.address: host for host in members}
    engine = plan.deps.engine
    votes: dict[str, int] = {}
    for host in members:
        seen = engine.master_seen_by(plan.sentinel(host, host))
        if seen in by_address:
            votes[seen] = votes.get(seen, 0) + 1
    if votes:
        return by_address[max(votes, key=lambda address: votes[address])]
    return plan.shard_master(shard_name)


def refresh_sentinels(plan: LoadedCluster, master: HostRecord) -> None:
    """Restart every Sentinel, one at a time, from a fresh config naming today's hosts,
    peers and quorum; used when hosts come or go, or the cluster is renamed."""
    engine = plan.deps.engine
    plan.issue_certificates()
    for host in plan.hosts:
        sentinel = plan.sentinel(host, master)
        engine.stop_sentinel(sentinel)
        engine.ensure_sentinel(sentinel, fresh_config=True)
    engine.wait_quorum([plan.sentinel(host, master) for host in plan.hosts])


def rewrite_node_files(plan: LoadedCluster, master: HostRecord) -> None:
    """Make each host's redis.conf say what it is now, so that a restart keeps its role."""
    engine = plan.deps.engine
    plan.issue_certificates(plan.shard_hosts(master.shard_name))
    for host in plan.shard_hosts(master.shard_name):
        engine.write_node_files(plan.node(host, None if host.name == master.name else master))


def settle(plan: LoadedCluster, shard: str) -> None:
    """Non-sharded: wait until the Sentinels agree on a master and none is amid a failover,
    and put the replicas' declared priorities back (a crashed switchover may have left some
    at 0). Sharded: nothing to wait for; a manual failover ends by itself within seconds."""
    if plan.record.sharded:
        return
    master = plan.shard_master(shard)
    engine = plan.deps.engine
    sentinels = [plan.sentinel(host, master) for host in plan.hosts]
    wait_settled(engine, sentinels)
    # A crashed attempt may have left the master under CLIENT PAUSE WRITE (up to PAUSE_MS) and
    # fenced (refusing writes). The Sentinels' link to a paused master blocks behind their
    # paused PUBLISH, so after down-after they would fail it over on their own, amid this
    # attempt. Every Sentinel names it master and none is failing over: it may take writes.
    lift_fence(engine, plan.node(current_master(plan, shard), None))
    calm(engine, sentinels)
    wait_settled(engine, sentinels)
    current = current_master(plan, shard)
    replicas = [plan.node(h, current) for h in plan.shard_hosts(shard) if h.name != current.name]
    restore_priorities(engine, [node for node in replicas if engine.node_running(node)])


def switch_master(plan: LoadedCluster, master: HostRecord, target: HostRecord, held: bool = False) -> None:
    """A planned switchover from ``master`` to ``target``, losing no acknowledged write.

    Sharded: ``CLUSTER FAILOVER`` on the target. Non-sharded: the Sentinel procedure of
    engine/switchover.py, led by the Sentinel on the last host: until the failover ends, the
    leader still names the old master, and clients tend to ask the first Sentinel listed.
    ``held``: the old master is kept from syncing with the new one (a rolling restart restarts
    it next), so nothing waits for its link.
    """
    if plan.record.sharded:
        sharding.switch_master(plan, master, target, held=held)
        return
    replicas = [h for h in plan.shard_hosts(master.shard_name) if h.name not in (master.name, target.name)]
    sentinels = [plan.sentinel(host, master) for host in plan.hosts]
    switchover(
        plan.deps.engine,
        plan.node(master, None),
        plan.node(target, master),
        [plan.node(host, master) for host in replicas],
        sentinels[-1],
        sentinels,
    )
