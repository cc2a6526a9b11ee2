"""Steps for sharded clusters (Redis Cluster): forming one, reading which host is which node,
moving slots, switching a shard's master. Each step can run again after a crash: forming
skips what is formed, a rebalance first settles any slot an earlier attempt left half-moved
(``SlotMover.settle``) and then plans from what the cluster holds, so a slot already moved
is not in the plan any more.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis

from managed_redis.engine.cluster_mode import RedisClusterOps
from managed_redis.engine.errors import EngineError
from managed_redis.engine.model import Node
from managed_redis.engine.slot_moves import MIB, MoveLimits, SlotMover
from managed_redis.engine.slots import even_split, plan_moves, ranges
from managed_redis.errors import FailedPrecondition
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.parallel import for_each
from managed_redis.store.clusters import HostRecord

log = logging.getLogger(__name__)


def ops(plan: LoadedCluster) -> RedisClusterOps:
    return RedisClusterOps(plan.deps.engine)


def live_master(plan: LoadedCluster, shard_name: str) -> HostRecord:
    """The host of the shard that says it is master now; the recorded one if none answers."""
    engine = plan.deps.engine
    for host in plan.shard_hosts(shard_name):
        node = plan.node(host, None)
        try:
            if engine.node_running(node) and engine.replication(node).get("role") == "master":
                return host
        except Exception:
            continue
    return plan.shard_master(shard_name)


def nodes_of(plan: LoadedCluster, masters: dict[str, HostRecord], hosts: Sequence[HostRecord]) -> list[Node]:
    return [
        plan.node(host, None if host.name == masters[host.shard_name].name else masters[host.shard_name])
        for host in hosts
    ]


def start_nodes(plan: LoadedCluster, hosts: Sequence[HostRecord], masters: dict[str, HostRecord]) -> None:
    """Start ``hosts`` in cluster mode, each replicating its shard's master in ``masters``."""
    plan.issue_certificates(list(hosts))
    for_each(plan.deps.engine.ensure_node, nodes_of(plan, masters, hosts))


def form(plan: LoadedCluster, slot_ranges: dict[str, list[tuple[int, int]]] | None = None) -> dict[str, str]:
    """Start every host and join them into one cluster; returns shard -> master host name.

    ``slot_ranges`` (shard -> ranges) keeps a layout, as a restore does; by default the
    16384 slots are split evenly over the shards in their order.
    """
    shards = [shard.name for shard in plan.shards]
    layout = slot_ranges or {name: [rng] for name, rng in zip(shards, even_split(len(shards)), strict=True)}
    masters = {name: plan.shard_master(name) for name in shards}
    start_nodes(plan, plan.hosts, masters)
    master_nodes = [(plan.node(masters[name], None), layout.get(name, [])) for name in shards]
    replicas = {
        masters[name].name: [
            plan.node(h, masters[name]) for h in plan.shard_hosts(name) if h.name != masters[name].name
        ]
        for name in shards
    }
    ops(plan).form(master_nodes, replicas)
    return {name: host.name for name, host in masters.items()}


@dataclass(frozen=True)
class SlotReport:
    slots: int
    keys: int
    # slot -> why it stayed where it was (a key too large to move in time).
    kept: dict[int, str] = field(default_factory=dict)
    # What was settled first: slots an earlier attempt (or anything else) left half-moved.
    settled: list[str] = field(default_factory=list)


def move_limits(plan: LoadedCluster) -> MoveLimits:
    settings = plan.deps.settings
    return MoveLimits(
        big_key_bytes=int(settings.migrate_big_key_mib * MIB),
        rate_bytes_per_s=int(settings.migrate_rate_mib_s * MIB),
        max_block_s=settings.migrate_max_block_s,
    )


def mover(plan: LoadedCluster) -> SlotMover:
    """A slot mover over every running node of the cluster."""
    engine = plan.deps.engine
    everyone = [plan.node(host, None) for host in plan.hosts]
    return SlotMover(engine, move_limits(plan), [node for node in everyone if engine.node_running(node)])


def live_masters(plan: LoadedCluster) -> dict[str, Node]:
    """shard name -> its master's node, as the hosts say now."""
    return {shard.name: plan.node(live_master(plan, shard.name), None) for shard in plan.shards}


def settle_slots(plan: LoadedCluster) -> list[str]:
    """Give every half-moved or disputed slot one owner (``SlotMover.settle``); a sentence per
    slot settled."""
    return mover(plan).settle()


def holds_slots(plan: LoadedCluster, shard_name: str) -> bool:
    """Whether the shard's master runs and holds slots (a rebalance moved some to it)."""
    node = plan.node(live_master(plan, shard_name), None)
    if not plan.deps.engine.node_running(node):
        return False
    cluster = ops(plan)
    try:
        return bool(cluster.owners(node).get(cluster.node_id(node)))
    except (redis.RedisError, EngineError):
        return False


def rebalance(plan: LoadedCluster, targets: Sequence[str] | None = None) -> SlotReport:
    """Move slots until every target shard holds an even share (others end with none).

    Slots holding a key too large to move stay (their shard gives others instead); a shard
    that is no target and keeps such a slot makes it fail with FailedPrecondition, after
    everything else moved. Raises EngineError if a move failed (its slots settled)."""
    targets = list(targets or [shard.name for shard in plan.shards])
    cluster, slots_mover = ops(plan), mover(plan)
    settled = slots_mover.settle()
    master_nodes = live_masters(plan)
    shard_of_id = {cluster.node_id(node): name for name, node in master_nodes.items()}
    id_of = {name: node_id for node_id, name in shard_of_id.items()}
    kept: dict[int, str] = {}
    moved = keys = 0
    while True:
        owners = _owners(cluster, master_nodes[targets[0]], shard_of_id, master_nodes)
        moves = plan_moves(owners, targets, kept)
        if not moves:
            break
        pairs: dict[tuple[str, str], list[int]] = {}
        for move in moves:
            pairs.setdefault((move.source, move.target), []).append(move.slot)
        newly_kept = 0
        for (source, target), slots in sorted(pairs.items()):
            others = [node for name, node in master_nodes.items() if name not in (source, target)]
            report = slots_mover.move(
                master_nodes[source], id_of[source], master_nodes[target], id_of[target], others, slots
            )
            moved, keys, newly_kept = moved + len(report.slots), keys + report.keys, newly_kept + len(report.kept)
            kept.update(report.kept)
            # Done when every node, replicas included, names the new owners: clients asking
            # any node get the same map, and health reads no half-moved slot.
            slots_mover.wait_agreed(set(report.slots))
        if not newly_kept:
            break  # else plan again: the shards that kept a slot give others instead
    if moved:
        log.info("cluster %s: moved %d slots (%d keys)", plan.record.id, moved, keys)
    _refuse_leftovers(plan, cluster, master_nodes, shard_of_id, targets, kept)
    return SlotReport(moved, keys, kept, settled)


def _owners(
    cluster: RedisClusterOps, any_node: Node, shard_of_id: dict[str, str], master_nodes: dict[str, Node]
) -> dict[str, set[int]]:
    owners: dict[str, set[int]] = {name: set() for name in master_nodes}
    for node_id, held in cluster.owners(any_node).items():
        if not held:
            continue  # a replica whose new role gossip has not carried yet, or an empty master
        if node_id not in shard_of_id:
            raise EngineError(f"cluster node {node_id} holds slots but is no master of this cluster")
        owners[shard_of_id[node_id]] |= held
    return owners


def _refuse_leftovers(
    plan: LoadedCluster,
    cluster: RedisClusterOps,
    master_nodes: dict[str, Node],
    shard_of_id: dict[str, str],
    targets: Sequence[str],
    kept: dict[int, str],
) -> None:
    """A shard that should end with no slots but kept some (too large to move) blocks what
    asked for it (deleting the shard): FailedPrecondition saying which slots and why."""
    owners = _owners(cluster, master_nodes[targets[0]], shard_of_id, master_nodes)
    for name, held in owners.items():
        if name not in targets and held:
            why = "; ".join(f"slot {slot}: {kept[slot]}" for slot in sorted(held) if slot in kept)
            spans = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges(held))
            raise FailedPrecondition(
                f"shard {name} of cluster {plan.record.id} still holds slots {spans}: {why or 'they could not move'}"
            )


def switch_master(plan: LoadedCluster, master: HostRecord, target: HostRecord, held: bool = False) -> None:
    """A coordinated ``CLUSTER FAILOVER`` on the target replica: no acknowledged write lost.

    Done when every node agrees the old master now replicates the new one and knows the new
    one holds its slots: a node drops the old master's slots as soon as it hears of its new
    role, so until the new master's claim reaches it, it hands clients an incomplete map.
    ``held``: the old master is kept from syncing (its link stays down until it restarts), so
    the shard is healthy without it.
    """
    cluster = ops(plan)
    masters = [plan.node(live_master(plan, shard.name), None) for shard in plan.shards]
    old_node, new_node = plan.node(master, None), plan.node(target, master)
    old_id, new_id = cluster.node_id(old_node), cluster.node_id(new_node)
    slots = cluster.owners(old_node).get(old_id, set())
    cluster.failover(new_node, masters)
    engine = plan.deps.engine
    everyone = [node for node in (plan.node(host, None) for host in plan.hosts) if engine.node_running(node)]
    cluster.wait_agreed(everyone, {old_id: new_id})
    cluster.wait_holding(everyone, new_id, slots)
    shard = [host for host in plan.shard_hosts(master.shard_name) if not (held and host.name == master.name)]
    cluster.wait_healthy([plan.node(host, None) for host in shard])


def rebalance_enabled(plan: LoadedCluster) -> bool:
    """Whether the cluster asked for slots to spread by themselves when shards come and go."""
    config = plan.config_spec.redis
    return config.HasField("rebalance_enabled") and config.rebalance_enabled.value
