"""Update: bring the running cluster to the declared state the request carries.

The operation's request is the cluster's whole new state (an UpdateClusterRequest with
every field set, the password never among them). Until the last step stores that state,
the store still holds the old one, so a resumed attempt recomputes the same difference:

- a new password (kept sealed beside the current one) is set on every host, live;
- Redis settings Redis takes live are applied with CONFIG SET on every host;
- settings Redis reads only at start (``databases``, ``io_threads_allowed``, the version)
  restart hosts one at a time, replicas first, then the master after a switchover;
- a new name renames the Sentinels' master (their configs are rewritten and reloaded);
- everything else is the declared state only, stored at the end.
"""

from __future__ import annotations

import dataclasses

from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.domain import redis_config
from managed_redis.domain.cluster_spec import declared_after, spec_json
from managed_redis.domain.topology import DEFAULT_REPLICA_PRIORITY
from managed_redis.engine.model import Node
from managed_redis.operations import steps
from managed_redis.operations.context import OperationContext
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.parallel import for_each
from managed_redis.statuses import ClusterStatus
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import HostRecord


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
    """CONFIG SET what changed on every host, and persistence as each host's role wants it."""
    engine = new.deps.engine
    before, after = _merged(old.directives), _merged(new.directives)
    changed = [(key, value) for key, value in after.items() if before.get(key) != value]

    def apply(node: Node) -> None:
        engine.config_set(node, [*changed, ("appendonly", "yes" if node.appendonly else "no")])

    for_each(apply, _nodes(new, masters))


def set_password(plan: LoadedCluster, masters: Masters, password: str) -> None:
    engine = plan.deps.engine
    for_each(lambda node: engine.set_default_password(node, password), _nodes(plan, masters))


def restart_all(new: LoadedCluster, masters: Masters) -> dict[str, str]:
    """Restart every host on its new settings, shard by shard; returns each shard's master."""
    return {shard: restart_shard(new, master) for shard, master in masters.items()}


def restart_shard(new: LoadedCluster, master: HostRecord) -> str:
    """Replicas first, then the master after a switchover; returns the master at the end."""
    engine = new.deps.engine
    new.issue_certificates(new.shard_hosts(master.shard_name))
    master_node = new.node(master, None)
    replicas = [host for host in new.shard_hosts(master.shard_name) if host.name != master.name]
    for host in replicas:
        node = new.node(host, master)
        engine.stop_node(node, save=True)
        engine.ensure_node(node)
        engine.wait_in_sync(node, master_node)
    # Redis's rule: the lowest replica-priority wins, and 0 never becomes master.
    candidates = [host for host in replicas if host.replica_priority != 0]
    if not candidates:  # nobody may take over: the master restarts in place
        engine.stop_node(master_node, save=True)
        engine.ensure_node(master_node)
        return master.name
    target = min(
        candidates,
        key=lambda host: DEFAULT_REPLICA_PRIORITY if host.replica_priority is None else host.replica_priority,
    )
    steps.switch_master(new, master, target)
    old_master = new.node(master, target)
    engine.stop_node(old_master, save=True)
    engine.ensure_node(old_master)
    engine.wait_in_sync(old_master, new.node(target, None))
    return target.name


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
    new = LoadedCluster(old.deps, record, old.hosts, old.shards)
    masters = {shard.name: steps.current_master(old, shard.name) for shard in old.shards}

    if pending_password:
        ctx.once("set password", lambda: set_password(new, masters, pending_password))
    if _restart_needed(old, new):
        restarted = ctx.once("restart hosts", lambda: restart_all(new, masters))
        masters = {shard: new.host(name) for shard, name in restarted.items()}
    else:
        ctx.once("apply settings", lambda: apply_live(old, new, masters))
    if not new.record.sharded:
        master = masters[new.shards[0].name]
        steps.rewrite_node_files(new, master)
        if state.name != old.record.name:
            ctx.once("rename in sentinels", lambda: steps.refresh_sentinels(new, master))
    with ctx.db.write() as conn:
        cluster_store.update(conn, record.id, name=record.name, spec=record.spec, secrets=record.secrets)
        for shard, master_host in masters.items():
            cluster_store.set_shard_master(conn, record.id, shard, master_host.name)
        cluster_store.update(conn, record.id, status=ClusterStatus.RUNNING)
    return steps.cluster_now(ctx.db, new)


def _restart_needed(old: LoadedCluster, new: LoadedCluster) -> bool:
    if old.version.binary != new.version.binary:
        return True
    before = redis_config.effective_values(old.config_spec.redis)
    return redis_config.restart_needed(before, redis_config.effective_values(new.config_spec.redis))
