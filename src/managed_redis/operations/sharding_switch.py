"""EnableSharding's data steps: a non-sharded cluster's hosts become Redis Cluster nodes, each
from a fresh snapshot (``Engine.restart_from_snapshot``), and go back when that fails.

Never from an AOF: cluster mode refuses ``SELECT``, so a log that once wrote to db5 and
emptied it replays both into db0 and db0 ends empty. The master's snapshot is taken as it
stops; the replicas restart empty and copy it when the cluster is formed.

Writes while it runs, and what became of them (none acknowledged is lost):

- from the last check that only db0 holds keys until the master's snapshot, writes are held
  (``CLIENT PAUSE WRITE``): a client waiting on one sees its connection closed when the
  master stops, so the write was never acknowledged (reads are served meanwhile);
- then the master refuses connections until it runs in cluster mode, where every key is
  refused (``CLUSTERDOWN``) until the cluster is formed and the master serves every slot;
  by then its new AOF base, written from the snapshot it loaded, is complete.

A key written to another database while writes were not held is refused too: the check runs
again under the hold, right before the snapshot.

Keys of another database whose TTL passed under the hold (which stops expiry) are still in the
snapshot; ``restart_from_snapshot`` drops them by loading it once as a private non-cluster
master before the cluster-mode start (Valkey 8.1 refuses to start in cluster mode on a file
holding any database but db0; see ``engine/snapshot_restart.py``).
"""

from __future__ import annotations

import dataclasses

import redis

from managed_redis import failpoints
from managed_redis.domain.topology import DEFAULT_SHARD
from managed_redis.engine.model import Node
from managed_redis.engine.switchover import unpause
from managed_redis.errors import FailedPrecondition
from managed_redis.operations import sharding, steps
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.parallel import for_each
from managed_redis.store.clusters import HostRecord

# Writes are held at most this long (ms) per hold; each step under it takes seconds at most,
# and the check that only db0 holds keys runs again under a fresh hold before the snapshot.
HOLD_MS = 30_000


def keys_outside_db0(plan: LoadedCluster, master: HostRecord) -> list[str]:
    """The databases other than db0 holding a live key on ``master`` (``["db5"]``); keys
    that expired count as gone, reclaimed or not."""
    return [db for db in plan.deps.engine.databases_in_use(plan.node(master, None)) if db != "db0"]


def refuse_other_databases(plan: LoadedCluster, master: HostRecord) -> None:
    """Raise FailedPrecondition naming the databases other than db0 that hold keys (or
    saying the master does not answer, so they cannot be known)."""
    try:
        databases = keys_outside_db0(plan, master)
    except redis.RedisError as exc:
        raise FailedPrecondition(
            f"the master {master.name} of cluster {plan.record.id} does not answer ({exc}); "
            "enable sharding once the cluster is ALIVE"
        ) from exc
    if databases:
        raise FailedPrecondition(
            f"cluster {plan.record.id} keeps keys in {', '.join(databases)}; Redis Cluster has only db0: "
            "move them to db0 or delete them first"
        )


def as_sharded(plan: LoadedCluster) -> LoadedCluster:
    """The same cluster as it runs once sharded (cluster mode and its directives)."""
    return dataclasses.replace(plan, record=dataclasses.replace(plan.record, sharded=True))


def restart_in_cluster_mode(plan: LoadedCluster, master: HostRecord) -> None:
    """Stop the Sentinels for good and restart every host in cluster mode: ``master`` from a
    snapshot of its memory, the others empty. Raises FailedPrecondition (the cluster is put
    back by ``put_back``) if another database holds keys or ``master`` is no longer master."""
    engine = plan.deps.engine
    plan.issue_certificates()
    steps.stop_sentinels(plan)  # no failover from here on
    before = plan.node(master, None)
    engine.ensure_node(before)  # a master that went down comes back from its own files first
    if engine.replication(before).get("role") != "master":
        raise FailedPrecondition(
            f"host {master.name} stopped being the master of cluster {plan.record.id} as sharding began; try again"
        )
    hold_writes(plan, before, master)
    replicas = [host for host in plan.hosts if host.name != master.name]
    for_each(lambda host: engine.stop_node(plan.node(host, master), save=False), replicas)
    hold_writes(plan, before, master)  # the first hold may have ended while the replicas stopped
    sharded = as_sharded(plan)
    engine.restart_from_snapshot(before, sharded.node(master, None))
    failpoints.reached("enable_sharding.master_restarted")  # in cluster mode; replicas down
    for_each(
        lambda host: engine.restart_from_snapshot(plan.node(host, master), sharded.node(host, master), keep_data=False),
        replicas,
    )
    for host in plan.hosts:
        plan.sentinel(host, master).conf_file.unlink(missing_ok=True)


def hold_writes(plan: LoadedCluster, node: Node, master: HostRecord) -> None:
    """Hold writes on the master for ``HOLD_MS`` (a later hold extends it), then check that
    only db0 holds keys; if not, let writes go on and raise FailedPrecondition."""
    engine = plan.deps.engine
    engine.admin(node).execute_command("CLIENT", "PAUSE", HOLD_MS, "WRITE")
    try:
        refuse_other_databases(plan, master)
    except FailedPrecondition:
        unpause(engine, node)
        raise


def put_back(plan: LoadedCluster) -> HostRecord:
    """After a failure before the cluster was formed: every host runs non-sharded again, the
    replicas following the master that holds the data, under fresh Sentinels. A host that
    already runs in cluster mode is restarted the other way (from a snapshot too); writes
    held on the master go on. Returns the master."""
    engine = plan.deps.engine
    plan.issue_certificates()
    master = plan.shard_master(DEFAULT_SHARD)
    master_node = plan.node(master, None)
    if engine.node_running(master_node) and engine.replication(master_node).get("role") != "master":
        master = sharding.live_master(plan, DEFAULT_SHARD)  # a failover ran before Sentinels stopped
        master_node = plan.node(master, None)
    for host in plan.hosts:
        node = plan.node(host, None if host.name == master.name else master)
        if engine.node_running(node) and _cluster_enabled(node, plan):
            engine.restart_from_snapshot(node, node, keep_data=host.name == master.name)
    if engine.node_running(master_node):
        unpause(engine, master_node)
    for host in plan.hosts:
        node = plan.node(host, master)
        if host.name != master.name and engine.node_running(node):
            engine.replicate_from(node, master_node)
    steps.start_shard(plan, DEFAULT_SHARD, master)
    steps.start_sentinels(plan, master, fresh_config=True)
    return master


def _cluster_enabled(node: Node, plan: LoadedCluster) -> bool:
    try:
        return str(plan.deps.engine.admin(node).info("cluster").get("cluster_enabled")) == "1"
    except redis.RedisError:
        return False
