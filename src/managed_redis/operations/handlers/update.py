"""Update: bring the running cluster to the declared state the request carries.

The operation's request is the cluster's whole new state (an UpdateClusterRequest with
every field set, the password never among them). Until the last step stores that state,
the store still holds the old one, so a resumed attempt recomputes the same difference:

- a new password (kept sealed beside the current one) is set on every host, live;
- Redis settings Redis takes live are applied with CONFIG SET on every host;
- settings Redis reads only at start (``databases``, ``io_threads_allowed``, the version)
  restart hosts one at a time, shard by shard, replicas first, then the master after a
  switchover; a new binary (a version upgrade) restarts every Sentinel on it too, one at a time;
- a new name renames the Sentinels' master (their configs are rewritten and reloaded);
- a changed ``auth_sentinel`` (or a new password while it is set) gives each Sentinel's
  ``default`` user the cluster password or none, live and in its config;
- everything else is the declared state only, stored at the end.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.domain import redis_config
from managed_redis.domain.cluster_spec import declared_after, spec_json
from managed_redis.domain.topology import DEFAULT_REPLICA_PRIORITY, shard_order
from managed_redis.engine.base import Engine
from managed_redis.engine.errors import EngineError
from managed_redis.engine.model import Node, Sentinel
from managed_redis.engine.switchover import wait_settled
from managed_redis.operations import sharding, steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.parallel import for_each
from managed_redis.statuses import ClusterStatus
from managed_redis.store import clusters as cluster_store
from managed_redis.store import maintenances as maintenance_store
from managed_redis.store.clusters import HostRecord

log = logging.getLogger(__name__)


def _merged(directives: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Directives by name; repeated ones (client-output-buffer-limit) joined as CONFIG SET takes them."""
    merged: dict[str, str] = {}
    for key, value in directives:
        merged[key] = f"{merged[key]} {value}" if key in merged else value
    return merged


Masters = dict[str, HostRecord]  # shard name -> its master


def _nodes(plan: LoadedCluster, masters: Masters) -> list[Node]:
    return [
        plan.node(host, None if host.name == masters[host.shard_name].name else masters[host.shard_name])
        for host in plan.hosts
    ]


def apply_live(old: LoadedCluster, new: LoadedCluster, masters: Masters) -> None:
    """CONFIG SET what changed on every host, and persistence as each host's role wants it.
    Raises EngineError naming the host and the directives when Redis refuses them (its own
    words say which and why: ``activedefrag`` on a binary without it, say), so that the
    operation fails saying so rather than as an internal error."""
    engine = new.deps.engine
    before, after = _merged(old.directives), _merged(new.directives)
    changed = [(key, value) for key, value in after.items() if before.get(key) != value]

    def apply(node: Node) -> None:
        pairs = [*changed, ("appendonly", "yes" if node.appendonly else "no")]
        try:
            engine.config_set(node, pairs)
        except redis.ResponseError as exc:
            asked = " ".join(f"{key} {value}" for key, value in pairs)
            raise EngineError(f"{node.name} refused CONFIG SET {asked}: {exc}") from exc

    for_each(apply, _nodes(new, masters))


def set_password(plan: LoadedCluster, masters: Masters, password: str) -> None:
    engine = plan.deps.engine
    for_each(lambda node: engine.set_default_password(node, password), _nodes(plan, masters))


def set_sentinel_auth(plan: LoadedCluster, master: HostRecord) -> None:
    """Every Sentinel's ``default`` user as ``auth_sentinel`` and the password want it."""
    engine = plan.deps.engine
    for_each(engine.set_sentinel_auth, [plan.sentinel(host, master) for host in plan.hosts])


# Runs one named step of a restart: ``ctx.once`` (done once per operation, as maintenance
# does host by host) or ``at_once`` (Update checkpoints the whole restart as one step).
StepRunner = Callable[[str, Callable[[], Any]], Any]


def at_once(step: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` now (``step`` names it only)."""
    return fn()


# A user no host has. The old master of a rolling restart is told to replicate as this user
# just before its switchover: once demoted it cannot authenticate to the new master, so it
# neither resyncs partially nor fully until it restarts on its own config (and binary). A Redis
# 7.0 asking a Valkey 8.1 master for a full sync would flush its data and then fail to load
# the RDB (version 11, which 7.0 cannot read).
HOLD_USER = "mredis-held-until-restart"


def restart_all(
    new: LoadedCluster, masters: Masters, run_step: StepRunner = at_once, sentinels: bool = False
) -> dict[str, str]:
    """Restart every host on its new settings (and binary), shard by shard in ascending shard
    name (api.md §10.3); then, with ``sentinels`` on a non-sharded cluster, every Sentinel, one
    at a time. Returns each shard's master. ``run_step`` runs each host's restart, the
    switchover and the Sentinels' restart as steps."""
    restarted = {shard: restart_shard(new, masters[shard], run_step) for shard in sorted(masters, key=shard_order)}
    if sentinels and not new.record.sharded:
        master = new.host(restarted[new.shards[0].name])
        run_step("restart sentinels", lambda: restart_sentinels(new, master))
    return restarted


def restart_shard(new: LoadedCluster, master: HostRecord, run_step: StepRunner = at_once) -> str:
    """Replicas first, each back in sync, then the master after a switchover; returns the
    master at the end. The old master is held from resyncing with the new one until it has
    restarted (``HOLD_USER``): a replica never syncs from a master on a newer binary before it
    runs that binary itself.
    With ``run_step`` = ``ctx.once`` and ``master`` the one the first attempt found, a resumed
    attempt skips the hosts already restarted and the switchover already made."""
    engine = new.deps.engine
    new.issue_certificates(new.shard_hosts(master.shard_name))
    master_node = new.node(master, None)
    replicas = [host for host in new.shard_hosts(master.shard_name) if host.name != master.name]

    def restart_replica(host: HostRecord) -> None:
        node = new.node(host, master)
        steps.write_alone(new, master, {host.name})
        engine.stop_node(node, save=True)
        engine.ensure_node(node)
        engine.wait_in_sync(node, master_node)
        if new.record.sharded:
            _wait_linked(new, node)

    for host in replicas:
        run_step(f"restart {host.name}", functools.partial(restart_replica, host))
    # Redis's rule: the lowest replica-priority wins, and 0 never becomes master.
    candidates = [host for host in replicas if host.replica_priority != 0]
    if not candidates:  # nobody may take over: the master restarts in place

        def restart_master() -> None:
            engine.stop_node(master_node, save=True)
            engine.ensure_node(master_node)

        run_step(f"restart {master.name}", restart_master)
        return master.name
    target = min(
        candidates,
        key=lambda host: DEFAULT_REPLICA_PRIORITY if host.replica_priority is None else host.replica_priority,
    )
    run_step(f"switch {master.shard_name} to {target.name}", lambda: _switch_holding(new, master, target))
    old_master = new.node(master, target)

    def restart_old_master() -> None:
        steps.write_alone(new, target, {master.name})
        engine.stop_node(old_master, save=True)
        engine.ensure_node(old_master)
        engine.wait_in_sync(old_master, new.node(target, None))

    run_step(f"restart {master.name}", restart_old_master)
    return target.name


def _switch_holding(new: LoadedCluster, master: HostRecord, target: HostRecord) -> None:
    """``steps.switch_master`` with the old master held from syncing once demoted. Should the
    switchover fail with the old master still master, it may replicate as before (a later
    failover may demote it); one demoted stays held until the next attempt restarts it."""
    engine = new.deps.engine
    master_node = new.node(master, None)
    engine.config_set(master_node, [("masteruser", HOLD_USER)])
    try:
        steps.switch_master(new, master, target, held=True)
    except BaseException:
        try:
            if engine.replication(master_node).get("role") == "master":
                engine.config_set(master_node, [("masteruser", master_node.credentials.admin_user)])
        except (redis.RedisError, OSError) as exc:
            log.warning("could not let %s replicate again after a failed switchover: %s", master.name, exc)
        raise


def _wait_linked(new: LoadedCluster, restarted: Node, timeout_s: float = 15.0) -> None:
    """Sharded: until every other running node's cluster-bus link to the just ``restarted``
    node is up again. A master sends its failover vote over that link and drops the vote while
    it is down: seen here, a manual failover 50 ms after its replica restarted got 1 of 3
    granted votes and timed out twice, 5 s each with the master's writes paused.
    Raises EngineError past ``timeout_s``."""
    engine, cluster = new.deps.engine, sharding.ops(new)
    others = [new.node(host, None) for host in new.hosts if host.name != restarted.name]
    others = [node for node in others if engine.node_running(node)]
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            node_id = cluster.node_id(restarted)
            if all(any(n.id == node_id and n.connected for n in cluster.view(other)) for other in others):
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise EngineError(f"the cluster bus did not reconnect to {restarted.name} within {timeout_s:.0f} s")
        time.sleep(0.02)


def restart_sentinels(new: LoadedCluster, master: HostRecord) -> None:
    """Restart each Sentinel on the cluster's binary, one at a time, once the Sentinels agree
    on ``master`` and none is failing over; each keeps its own config (epochs, the master it
    knows) and is back, naming ``master`` and with a quorum, before the next one stops."""
    engine = new.deps.engine
    new.issue_certificates()
    sentinels = [new.sentinel(host, master) for host in new.hosts]
    wait_settled(engine, sentinels)
    for sentinel in sentinels:
        engine.stop_sentinel(sentinel)
        engine.ensure_sentinel(sentinel)
        engine.wait_quorum(sentinels)
        _wait_names(engine, sentinel, master)


def _wait_names(engine: Engine, sentinel: Sentinel, master: HostRecord, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while engine.master_seen_by(sentinel) != master.address:
        if time.monotonic() > deadline:
            raise EngineError(f"the restarted sentinel on {sentinel.name} does not name {master.name} as master")
        time.sleep(0.05)


def update_cluster(ctx: OperationContext[service_pb.UpdateClusterRequest]) -> cluster_pb2.Cluster:
    state = ctx.request
    old = LoadedCluster.of_operation(ctx)
    secrets = old.deps.vault.open_sealed(old.record.secrets or b"")
    pending_password = secrets.get("pending_password")
    new_secrets = {key: value for key, value in secrets.items() if key != "pending_password"}
    if pending_password:
        new_secrets["password"] = pending_password
    record = dataclasses.replace(
        old.record,
        name=state.name,
        spec=spec_json(declared_after(old.record, state), state.config_spec),
        secrets=old.deps.vault.seal(new_secrets),
    )
    new = LoadedCluster(old.deps, record, old.hosts, old.shards, old.users)
    masters = {shard.name: steps.current_master(old, shard.name) for shard in old.shards}

    if pending_password:
        ctx.once("set password", lambda: set_password(new, masters, pending_password))
    if _restart_needed(old, new):
        sentinels = old.version.binary != new.version.binary
        restarted = ctx.once("restart hosts", lambda: restart_all(new, masters, sentinels=sentinels))
        masters = {shard: new.host(name) for shard, name in restarted.items()}
    else:
        ctx.once("apply settings", lambda: apply_live(old, new, masters))
    if not new.record.sharded:
        master = masters[new.shards[0].name]
        steps.rewrite_node_files(new, master)
        if state.name != old.record.name:
            ctx.once("rename in sentinels", lambda: steps.refresh_sentinels(new, master))
        elif old.declared.auth_sentinel != new.declared.auth_sentinel or (
            pending_password and new.declared.auth_sentinel
        ):
            ctx.once("sentinel auth", lambda: set_sentinel_auth(new, master))
    with ctx.db.write() as conn:
        cluster_store.update(conn, record.id, name=record.name, spec=record.spec, secrets=record.secrets)
        for shard, master_host in masters.items():
            cluster_store.set_shard_master(conn, record.id, shard, master_host.name)
        if ctx.done("restart hosts"):  # they run the binary of the new version now
            maintenance_store.set_running_version(conn, record.id, new.version.full_version)
        cluster_store.update(conn, record.id, status=ClusterStatus.RUNNING)
    return steps.cluster_now(ctx.db, new)


def _restart_needed(old: LoadedCluster, new: LoadedCluster) -> bool:
    if old.version.binary != new.version.binary:
        return True
    before = redis_config.effective_values(old.config_spec.redis)
    return redis_config.restart_needed(before, redis_config.effective_values(new.config_spec.redis))
