"""Redis Cluster: forming a cluster, reading its view, failing over.

Everything goes through the control user on the nodes themselves (``CLUSTER ...``
commands); no ``redis-cli --cluster``. Moving slots is ``slot_moves.py``'s job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import redis

from managed_redis.engine.addresses import CLUSTER_BUS_OFFSET
from managed_redis.engine.base import Engine
from managed_redis.engine.errors import EngineError
from managed_redis.engine.model import Node
from managed_redis.engine.slots import SLOTS, ranges

log = logging.getLogger(__name__)

# Redis gives a manual failover 5 s (CLUSTER_MF_TIMEOUT); a little more before asking again.
MANUAL_FAILOVER_S = 7.0
FORM_TIMEOUT_S = 60.0


@dataclass
class ClusterNode:
    """One line of ``CLUSTER NODES``."""

    id: str
    address: str
    port: int
    flags: set[str]
    master_id: str | None
    config_epoch: int
    connected: bool
    slots: set[int] = field(default_factory=set)

    @property
    def is_master(self) -> bool:
        return "master" in self.flags

    @property
    def failing(self) -> bool:
        return bool(self.flags & {"fail", "fail?", "pfail", "noaddr", "handshake"})


def parse_nodes(text: str) -> list[ClusterNode]:
    """The nodes of a ``CLUSTER NODES`` reply; a slot being imported or migrated counts as its old
    owner's. Raises ValueError or IndexError on text that is not such a reply."""
    nodes = []
    for line in text.strip().splitlines():
        parts = line.split()
        endpoint = parts[1].split(",")[0]  # ip:port@cport[,hostname]
        address, _, rest = endpoint.rpartition(":")
        port = int(rest.split("@")[0]) if rest.split("@")[0].isdigit() else 0
        slots: set[int] = set()
        for item in parts[8:]:
            if item.startswith("["):
                continue  # a slot being imported or migrated: still its old owner's
            first, _, last = item.partition("-")
            slots.update(range(int(first), int(last or first) + 1))
        nodes.append(
            ClusterNode(
                id=parts[0],
                address=address,
                port=port,
                flags=set(parts[2].split(",")),
                master_id=None if parts[3] == "-" else parts[3],
                config_epoch=int(parts[6]),
                connected=parts[7] == "connected",
                slots=slots,
            )
        )
    return nodes


class RedisClusterOps:
    """Redis Cluster's own commands on an engine's nodes: forming, waiting for gossip, failing
    over. Every method asks the nodes over ``Engine.admin``, so each may raise redis.RedisError
    when a node cannot be asked or refuses; the waits raise EngineError past their timeout."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _admin(self, node: Node) -> redis.Redis:
        return self.engine.admin(node)

    def node_id(self, node: Node) -> str:
        """``node``'s cluster id (``CLUSTER MYID``). Raises redis.RedisError if it cannot be asked."""
        return str(self._admin(node).execute_command("CLUSTER", "MYID"))

    def view(self, node: Node) -> list[ClusterNode]:
        """The cluster as ``node`` sees it (``CLUSTER NODES``). Raises redis.RedisError if it
        cannot be asked."""
        return parse_nodes(str(self._admin(node).execute_command("CLUSTER", "NODES")))

    def serves_every_slot(self, node: Node) -> bool:
        """Whether ``node`` says ``cluster_state:ok`` and knows a healthy owner for every slot.

        The state alone is not enough: with ``cluster-require-full-coverage no`` (the
        service's default) a node is "ok" while it has not yet heard which master took a
        range, and a client that asks it gets an incomplete slot map.
        Raises redis.RedisError if ``node`` cannot be asked.
        """
        info = str(self._admin(node).execute_command("CLUSTER", "INFO"))
        fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        state, slots_ok = fields.get("cluster_state", "").strip(), fields.get("cluster_slots_ok", "").strip()
        return state == "ok" and slots_ok == str(SLOTS)

    # -- forming -----------------------------------------------------------------------------

    def form(self, masters: Sequence[tuple[Node, Sequence[tuple[int, int]]]], replicas: dict[str, list[Node]]) -> None:
        """Join running, empty nodes into one cluster: slots to masters, replicas to them.

        ``replicas`` maps a master's name to its replicas. Every node must already run.
        Raises EngineError if a replica cannot replicate its master, or the nodes do not know
        each other or are not healthy within ``FORM_TIMEOUT_S``; redis.RedisError if a node
        cannot be asked or refuses.
        """
        everyone = [node for node, _ in masters] + [node for group in replicas.values() for node in group]
        ids = {node.name: self.node_id(node) for node in everyone}
        for epoch, (node, slot_ranges) in enumerate(masters, start=1):
            admin = self._admin(node)
            if not self._has_peers(node):
                admin.execute_command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
            self.assign(node, slot_ranges)
        self.meet_directly([], everyone)
        for master_name, group in replicas.items():
            for node in group:
                self.replicate(node, ids[master_name])
        self.wait_known(everyone, set(ids.values()))
        self.tell_slots([node for node, _ in masters], everyone)
        # A fresh master reports cluster_state:ok only 2 s after it started (Redis's
        # CLUSTER_WRITABLE_DELAY): the floor of any new cluster.
        self.wait_healthy(everyone)

    def _has_peers(self, node: Node) -> bool:
        return len(self.view(node)) > 1

    def assign(self, node: Node, slot_ranges: Iterable[Sequence[int]]) -> None:
        """Give ``node`` the slots it does not hold yet (a no-op when it holds them all).
        Raises redis.RedisError if ``node`` cannot be asked or refuses a slot (another node
        holds it)."""
        wanted = {slot for first, last in slot_ranges for slot in range(first, last + 1)}
        held = set().union(*(n.slots for n in self.view(node) if "myself" in n.flags))
        missing = sorted(wanted - held)
        args: list[int] = []
        for first, last in ranges(missing):
            args += [first, last]
        if args:
            self._admin(node).execute_command("CLUSTER", "ADDSLOTSRANGE", *args)

    def meet(self, member: Node, newcomer: Node) -> None:
        """Have ``member`` shake hands with ``newcomer`` (``CLUSTER MEET``). Raises
        redis.RedisError if ``member`` cannot be asked or refuses."""
        self._admin(member).execute_command(
            "CLUSTER", "MEET", newcomer.address, newcomer.port, newcomer.port + CLUSTER_BUS_OFFSET
        )

    def meet_directly(self, members: Sequence[Node], newcomers: Sequence[Node]) -> None:
        """Shake hands between each newcomer and every other node, members and newcomers.

        One handshake per pair, at once, instead of waiting for gossip to spread the news of
        who is in the cluster (a few seconds, growing with the cluster).
        Raises redis.RedisError if a node cannot be asked or refuses.
        """
        for index, newcomer in enumerate(newcomers):
            for other in [*members, *newcomers[index + 1 :]]:
                self.meet(other, newcomer)

    def tell_slots(self, holders: Sequence[Node], listeners: Sequence[Node]) -> None:
        """Have each of ``holders`` tell ``listeners`` at once which slots it holds.

        The packet that completes a handshake does not carry the sender's slots into the
        receiver's view; the next ping does, up to half a node timeout later. A MEET from a
        node the receiver already knows is read in full at once. (A node that holds no slots
        sends nothing that matters; it does no harm either.)
        Raises redis.RedisError if a node cannot be asked or refuses.
        """
        for holder in holders:
            for listener in listeners:
                if listener.name != holder.name:
                    self.meet(holder, listener)

    def replicate(self, replica: Node, master_id: str) -> None:
        """Make ``replica`` a replica of the node ``master_id`` (adopted if it already is one),
        asking again while gossip has not brought it the master. Raises EngineError if it still
        does not know the master after ``FORM_TIMEOUT_S``; redis.RedisError if it cannot be
        asked or refuses otherwise."""
        deadline = time.monotonic() + FORM_TIMEOUT_S
        while True:
            mine = next(n for n in self.view(replica) if "myself" in n.flags)
            if mine.master_id == master_id:
                return
            try:
                self._admin(replica).execute_command("CLUSTER", "REPLICATE", master_id)
                return
            except redis.ResponseError as exc:  # "Unknown node": gossip has not reached it yet
                if time.monotonic() > deadline:
                    raise EngineError(f"{replica.name} cannot replicate {master_id}: {exc}") from exc
                time.sleep(0.05)

    def wait_known(self, nodes: Sequence[Node], ids: set[str], timeout_s: float = FORM_TIMEOUT_S) -> None:
        """Until every node knows every id in ``ids`` as a peer it has shaken hands with.
        Raises EngineError naming the first node that has not learnt them within ``timeout_s``;
        redis.RedisError if a node cannot be asked or refuses."""
        deadline = time.monotonic() + timeout_s
        for node in nodes:
            while True:
                try:
                    known = {n.id for n in self.view(node) if "handshake" not in n.flags}
                except redis.BusyLoadingError:  # a replica loading what it just copied
                    known = set()
                if ids <= known:
                    break
                if time.monotonic() > deadline:
                    raise EngineError(f"{node.name} did not learn every cluster node in {timeout_s:.0f} s")
                time.sleep(0.02)

    def wait_agreed(self, nodes: Sequence[Node], replica_of: dict[str, str], timeout_s: float = FORM_TIMEOUT_S) -> None:
        """Until every node sees each replica (by id) as a replica of its master.

        Gossip carries a new replica's role a few seconds after the replica itself takes it,
        and masters vote on failovers from what gossip told them: a failover asked for before
        then would time out.
        Raises EngineError naming the first node that does not see them so within ``timeout_s``;
        redis.RedisError if a node cannot be asked or refuses.
        """
        deadline = time.monotonic() + timeout_s
        for node in nodes:
            while True:
                seen = {n.id: n.master_id for n in self.view(node)}
                if all(seen.get(replica) == master for replica, master in replica_of.items()):
                    break
                if time.monotonic() > deadline:
                    raise EngineError(f"{node.name} does not see every replica where it belongs")
                time.sleep(0.02)

    def wait_holding(
        self, nodes: Sequence[Node], owner_id: str, slots: set[int], timeout_s: float = FORM_TIMEOUT_S
    ) -> None:
        """Until every node sees ``owner_id`` hold ``slots``.
        Raises EngineError naming the first node that has not heard it within ``timeout_s``;
        redis.RedisError if a node cannot be asked or refuses."""
        deadline = time.monotonic() + timeout_s
        for node in nodes:
            while not slots <= self.owners(node).get(owner_id, set()):
                if time.monotonic() > deadline:
                    raise EngineError(f"{node.name} has not heard that {owner_id} holds its slots")
                time.sleep(0.02)

    def wait_healthy(self, nodes: Sequence[Node], timeout_s: float = FORM_TIMEOUT_S) -> None:
        """Until every node serves every slot and every replica is in sync.
        Raises EngineError naming the first node not healthy within ``timeout_s``;
        redis.RedisError if a node cannot be asked or refuses."""
        deadline = time.monotonic() + timeout_s
        for node in nodes:
            while True:
                try:
                    ok = self.serves_every_slot(node)
                    info = self.engine.replication(node)
                except redis.BusyLoadingError:  # a replica loading what it just copied: not yet
                    ok, info = False, {}
                if ok and (info.get("role") == "master" or info.get("master_link_status") == "up"):
                    break
                if time.monotonic() > deadline:
                    raise EngineError(f"{node.name} is not part of a healthy cluster after {timeout_s:.0f} s")
                time.sleep(0.02)

    # -- slots ---------------------------------------------------------------------------------

    def owners(self, node: Node) -> dict[str, set[int]]:
        """Master node id -> the slots it holds, as ``node`` sees it.
        Raises redis.RedisError if ``node`` cannot be asked."""
        return {n.id: set(n.slots) for n in self.view(node) if n.is_master and not n.failing}

    def forget(self, nodes: Sequence[Node], gone_ids: Iterable[str]) -> None:
        """Have each of ``nodes`` forget the ids in ``gone_ids`` (``CLUSTER FORGET``; a node that
        never knew one is fine). Raises redis.RedisError if a node cannot be asked or refuses
        otherwise."""
        for node in nodes:
            for gone in gone_ids:
                try:
                    self._admin(node).execute_command("CLUSTER", "FORGET", gone)
                except redis.ResponseError as exc:
                    if "Unknown node" not in str(exc):
                        raise

    # -- failover ------------------------------------------------------------------------------

    def failover(self, replica: Node, masters: Sequence[Node] = (), force: bool = False, attempts: int = 3) -> None:
        """Make ``replica`` its shard's master: coordinated (no acknowledged write lost), or
        FORCE when the master is certainly gone. ``masters``, the cluster's masters, must
        first all know the replica as such, or they would not vote for it. A manual failover
        that times out (Redis gives it 5 s) leaves everything as it was; it is asked again.
        Raises EngineError if the masters do not know the replica in time or it is not master
        after ``attempts`` failovers; redis.RedisError if it cannot be asked or refuses."""
        if masters:
            mine = next(n for n in self.view(replica) if "myself" in n.flags)
            if mine.master_id:
                self.wait_agreed(masters, {mine.id: mine.master_id})
        args = ["CLUSTER", "FAILOVER"] + (["FORCE"] if force else [])
        for _ in range(attempts):
            self._admin(replica).execute_command(*args)
            deadline = time.monotonic() + MANUAL_FAILOVER_S
            while time.monotonic() < deadline:
                if self.engine.replication(replica).get("role") == "master":
                    return
                time.sleep(0.02)
            log.warning("manual failover to %s timed out; asking again", replica.name)
        raise EngineError(f"{replica.name} did not become master after {attempts} manual failovers")

    def takeover(
        self, replica: Node, timeout_s: float = MANUAL_FAILOVER_S, accepted: Callable[[], None] | None = None
    ) -> None:
        """Make ``replica`` its shard's master without asking anyone (``CLUSTER FAILOVER
        TAKEOVER``): for a master whose process is certainly gone, where a vote may be
        impossible (fewer than 3 masters). ``accepted`` runs as soon as the replica accepted
        the command: from then on it takes over at its next cron, even if a client's script
        blocks it meanwhile, so that is where a caller records it. Returns once it says it is
        master (a BUSY answer counts as not yet); raises EngineError if it refused, or did
        not become master within ``timeout_s`` seconds."""
        try:
            self._admin(replica).execute_command("CLUSTER", "FAILOVER", "TAKEOVER")
        except redis.RedisError as exc:
            raise EngineError(f"{replica.name} refused to take over: {exc}") from exc
        if accepted is not None:
            accepted()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self.engine.replication(replica).get("role") == "master":
                    return
            except redis.RedisError as exc:  # busy running a script, say: it takes over after
                log.info("%s has not said it took over yet: %s", replica.name, exc)
            if time.monotonic() > deadline:
                raise EngineError(f"{replica.name} did not become master within {timeout_s:.0f} s")
            time.sleep(0.02)
