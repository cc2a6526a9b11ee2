"""Carrying out one decision of the supervisor on one cluster, through the engine.

``carry_out`` turns an ``Action`` (``decisions.py``) into engine calls, each bounded by its
own timeout; ``deadline_s`` says how long an action may take at most, which is how long the
supervisor holds the cluster's healing lock for it. The caller (the supervisor) holds that
lock, logs the action's reason, and books its success or failure.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from managed_redis import failpoints
from managed_redis.domain.topology import DEFAULT_SHARD
from managed_redis.engine.conf import master_in_sentinel_conf
from managed_redis.engine.errors import EngineError
from managed_redis.engine.model import Node
from managed_redis.operations import sharding, steps
from managed_redis.operations.decisions import Action, Do
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.store import users as user_store
from managed_redis.store.clusters import HostRecord
from managed_redis.store.database import Database

log = logging.getLogger(__name__)

# Restarting a master may mean loading its whole dataset (or snapshotting a replica first).
LOAD_TIMEOUT_S = 600.0
RESTART_TIMEOUT_S = 600.0
QUICK_S = 60.0

Runner = Callable[[Database, LoadedCluster, Action], None]


def deadline_s(action: Action) -> float:
    """The most ``carry_out(action)`` may take, in seconds."""
    if action.do in (
        Do.RESTART_MASTER,
        Do.RESTART_MASTER_FROM_REPLICA,
        Do.COLD_START,
        Do.RESTART_REPLICA,
        Do.RESTART_HUNG,
        Do.SETTLE_SLOTS,
    ):
        return RESTART_TIMEOUT_S
    return QUICK_S


def carry_out(db: Database, plan: LoadedCluster, action: Action) -> None:
    """Do ``action`` on ``plan``'s cluster. Raises EngineError (or a RedisError) if it failed."""
    failpoints.reached("healing.acting")  # the cluster is locked for healing by now
    _RUNNERS[action.do](db, plan, action)


def _host(plan: LoadedCluster, action: Action) -> HostRecord:
    assert action.host is not None, action
    return plan.host(action.host)


def _other(plan: LoadedCluster, action: Action) -> HostRecord:
    assert action.other is not None, action
    return plan.host(action.other)


def _cold_start(db: Database, plan: LoadedCluster, action: Action) -> None:
    if plan.record.sharded:
        masters = {shard.name: plan.shard_master(shard.name) for shard in plan.shards}
        sharding.start_nodes(plan, plan.hosts, masters)
        return
    by_address = {host.address: host for host in plan.hosts}
    votes: dict[str, int] = {}
    for host in plan.hosts:
        address = master_in_sentinel_conf(plan.sentinel(host, host).conf_file, plan.record.name)
        if address in by_address:
            votes[address] = votes.get(address, 0) + 1
    master = by_address[max(votes, key=lambda a: votes[a])] if votes else plan.shard_master(DEFAULT_SHARD)
    log.info("supervisor: cluster %s starts from %s", plan.record.id, master.name)
    steps.start_shard(plan, master.shard_name, master)
    steps.record_master(db, plan, master.shard_name, master.name)
    steps.start_sentinels(plan, master, fresh_config=False)


def _catching_up(plan: LoadedCluster, node: Node) -> Node:
    """``node`` as a replica restarted by the supervisor starts: in Sentinel mode with
    ``replica-priority 0``, so that no Sentinel promotes it before it has caught up (a
    Sentinel counts a never-linked replica as in step); ``upkeep.py`` gives it its declared
    priority once it is in step. Sharded, as it is (the cluster bus does not elect a replica
    whose data is old)."""
    return node if plan.record.sharded else dataclasses.replace(node, replica_priority=0)


def _restart_replica(db: Database, plan: LoadedCluster, action: Action) -> None:
    host = _host(plan, action)
    # Sharded: the node's nodes.conf says whom it replicates; it rejoins as it was.
    master = None if plan.record.sharded else _other(plan, action)
    node = _catching_up(plan, plan.node(host, master))
    plan.deps.engine.ensure_node(node, RESTART_TIMEOUT_S)
    if plan.record.sharded and len(sharding.ops(plan).view(node)) == 1:
        _rejoin(plan, host, _other(plan, action))


def _rejoin(plan: LoadedCluster, host: HostRecord, master: HostRecord) -> None:
    """A node whose nodes.conf went (with its directory) starts as a new, lone node: it meets
    the others and replicates its shard's master, and they forget the node it was."""
    cluster, engine = sharding.ops(plan), plan.deps.engine
    node = plan.node(host, None)
    others = [plan.node(h, None) for h in plan.hosts if h.name != host.name]
    others = [other for other in others if engine.node_running(other)]
    cluster.meet_directly(others, [node])
    ids = {cluster.node_id(n) for n in [*others, node]}
    cluster.wait_known([*others, node], ids)
    stale = {known.id for other in others for known in cluster.view(other)} - ids
    cluster.forget(others, stale)
    cluster.replicate(node, cluster.node_id(plan.node(master, None)))


def _restart_hung(db: Database, plan: LoadedCluster, action: Action) -> None:
    host = _host(plan, action)
    master = None if plan.record.sharded else _other(plan, action)
    node = _catching_up(plan, plan.node(host, master))
    plan.deps.engine.fence(node)
    plan.deps.engine.ensure_node(node, RESTART_TIMEOUT_S)


def _restart_master(db: Database, plan: LoadedCluster, action: Action) -> None:
    plan.deps.engine.ensure_node(plan.node(_host(plan, action), None), LOAD_TIMEOUT_S)


def _restart_master_from_replica(db: Database, plan: LoadedCluster, action: Action) -> None:
    """Snapshot the replica holding the data, place it as the master's, start the master from
    it; the snapshot records the replication position, so the replicas continue from it by
    partial sync (engine.md, "Persistence and restore")."""
    engine = plan.deps.engine
    master_host = _host(plan, action)
    master = plan.node(master_host, None)
    source = plan.node(_other(plan, action), master_host)
    engine.bgsave(source, LOAD_TIMEOUT_S)
    engine.share_snapshot(source, master)
    engine.load_snapshot(master, LOAD_TIMEOUT_S)


def _fence(db: Database, plan: LoadedCluster, action: Action) -> None:
    plan.deps.engine.fence(plan.node(_host(plan, action), None))


def _failover(db: Database, plan: LoadedCluster, action: Action) -> None:
    """Ask the Sentinels, one after another, until one takes the failover; none, if one of
    them is failing the master over already or names another master (a forced failover
    beside a Sentinel's own would promote a second replica: two masters, one to lose). Each
    is asked once it knows the replicas' offsets as they are (at most ~1 s more), so that it
    promotes the most advanced."""
    engine, master = plan.deps.engine, _host(plan, action)
    sentinels = [plan.sentinel(host, master) for host in plan.hosts]
    for sentinel in sentinels:
        if engine.failing_over(sentinel):
            log.info("supervisor: the Sentinel on %s is failing %s over already", sentinel.name, master.name)
            return
        named = engine.master_seen_by(sentinel)
        if named not in (None, master.address):
            log.info("supervisor: the Sentinel on %s names %s the master already", sentinel.name, named)
            return
    replicas = [plan.node(host, master) for host in plan.shard_hosts(master.shard_name) if host.name != master.name]
    refusals = []
    for sentinel in sentinels:
        try:
            engine.request_failover(sentinel, replicas)
            return
        except EngineError as exc:
            if "INPROG" in str(exc):
                return  # a failover is under way: that is what was asked for
            refusals.append(str(exc))
    raise EngineError("no Sentinel took the failover: " + "; ".join(refusals))


def _takeover(db: Database, plan: LoadedCluster, action: Action) -> None:
    """The replica takes its master's slots; it is recorded as the shard's master the moment
    it accepts the takeover. Were it to fall silent before saying it is master (a client's
    retried script blocking it), the record would still name the old master, and the old
    master be brought back as one: it took writes its demotion then threw away (seen in the
    suite: 5 lost)."""
    new_master = _other(plan, action)
    sharding.ops(plan).takeover(
        plan.node(new_master, _host(plan, action)),
        accepted=lambda: steps.record_master(db, plan, action.shard, new_master.name),
    )


def _demote(db: Database, plan: LoadedCluster, action: Action) -> None:
    engine = plan.deps.engine
    master = _other(plan, action)
    node = plan.node(_host(plan, action), master)
    engine.replicate_from(node, plan.node(master, None))
    engine.write_node_files(node)


def _restart_sentinel(db: Database, plan: LoadedCluster, action: Action) -> None:
    plan.deps.engine.ensure_sentinel(plan.sentinel(_host(plan, action), _other(plan, action)))


def _reset_sentinel(db: Database, plan: LoadedCluster, action: Action) -> None:
    engine = plan.deps.engine
    sentinel = plan.sentinel(_host(plan, action), _other(plan, action))
    engine.stop_sentinel(sentinel)
    engine.ensure_sentinel(sentinel, fresh_config=True)


def _restore_files(db: Database, plan: LoadedCluster, action: Action) -> None:
    host = _host(plan, action)
    master = None if plan.record.sharded or action.other in (None, host.name) else _other(plan, action)
    plan.deps.engine.restore_files(plan.node(host, master))
    if not plan.record.sharded:  # its Sentinel lost its config too: it starts again from a fresh one
        master_name = action.other or host.name  # no other: the host is the master
        _reset_sentinel(db, plan, Action(Do.RESET_SENTINEL, action.shard, host.name, "", other=master_name))


def _record_master(db: Database, plan: LoadedCluster, action: Action) -> None:
    steps.record_master(db, plan, action.shard, _host(plan, action).name)


def _set_appendonly(db: Database, plan: LoadedCluster, action: Action) -> None:
    host = _host(plan, action)
    master = None if action.value == "no" or plan.record.sharded else _other(plan, action)
    plan.deps.engine.config_set(plan.node(host, master), [("appendonly", str(action.value))])


def _set_min_replicas(db: Database, plan: LoadedCluster, action: Action) -> None:
    master = _other(plan, action) if action.other else None
    plan.deps.engine.config_set(plan.node(_host(plan, action), master), [("min-replicas-to-write", str(action.value))])


def _set_replica_priority(db: Database, plan: LoadedCluster, action: Action) -> None:
    """Lower a replica's priority while it catches up, or give its declared one back once it
    has; as its link is now (the look that decided may be a pass or two old), else nothing."""
    engine, master = plan.deps.engine, _other(plan, action)
    node = plan.node(_host(plan, action), master)
    info = engine.replication(node)
    caught_up = info.get("master_link_status") == "up" and not info.get("master_sync_in_progress")
    if caught_up != (action.value != "0"):
        log.info("supervisor: %s's link changed since the look; its replica-priority stays", node.name)
        return
    engine.config_set(node, [("replica-priority", str(action.value))])


def _settle_slots(db: Database, plan: LoadedCluster, action: Action) -> None:
    """Give every half-moved or disputed slot one owner, keys moved forward to it, and set
    every node's cluster-node-timeout back (``SlotMover.settle``)."""
    for sentence in sharding.settle_slots(plan):
        log.info("supervisor: cluster %s: %s", plan.record.id, sentence)


def _apply_users(db: Database, plan: LoadedCluster, action: Action) -> None:
    """The declared users on a host that missed a change, live; then its mark goes."""
    host = _host(plan, action)
    plan.deps.engine.apply_users(plan.node(host, None))
    with db.write() as conn:
        user_store.clear_pending(conn, plan.record.id, host.name)


_RUNNERS: dict[Do, Runner] = {
    Do.COLD_START: _cold_start,
    Do.RESTART_REPLICA: _restart_replica,
    Do.RESTART_HUNG: _restart_hung,
    Do.RESTART_MASTER: _restart_master,
    Do.RESTART_MASTER_FROM_REPLICA: _restart_master_from_replica,
    Do.FENCE: _fence,
    Do.FAILOVER: _failover,
    Do.TAKEOVER: _takeover,
    Do.DEMOTE: _demote,
    Do.RESTART_SENTINEL: _restart_sentinel,
    Do.RESET_SENTINEL: _reset_sentinel,
    Do.RESTORE_FILES: _restore_files,
    Do.RECORD_MASTER: _record_master,
    Do.SET_APPENDONLY: _set_appendonly,
    Do.SET_MIN_REPLICAS: _set_min_replicas,
    Do.SET_REPLICA_PRIORITY: _set_replica_priority,
    Do.SETTLE_SLOTS: _settle_slots,
    Do.APPLY_USERS: _apply_users,
}
