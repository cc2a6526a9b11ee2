"""Moving hash slots between Redis Cluster masters so that every key stays reachable, no
failover is of our own making, and a slot left half-moved is settled on one owner.

Why it needs care. ``MIGRATE`` "is atomic and blocks the two instances for the time required
to transfer the key" (redis.io/commands/migrate), and a node that answers no ping for
``cluster-node-timeout`` ms ("the amount of milliseconds a node must be unreachable for it
to be considered in failure state", redis.conf) is failed over by its replica, in the middle
of the move: with a ~750 MB sorted set that left slots IMPORTING and moved keys unreachable
(also redis/redis#3396, #13122). Redis 7.0 has no non-blocking MIGRATE; its author's advice
(#3396) is to "adjust the failover timeouts so that no failover is triggered". So here:

- Before a slot's move starts, its keys are measured (``MEMORY USAGE`` with its default
  sampling, a few elements per key; ``SAMPLES 0`` would itself walk every element of a big
  key). A slot holding a key whose MIGRATE would block longer than ``max_block_s`` (its size
  over ``rate_bytes_per_s``) is not moved at all: it stays with its source and the report
  says why. Blocking a shard for minutes is worse than an uneven share.
- Measured here: a 5M-member sorted set (546 MiB by MEMORY USAGE, 91 MiB serialized) took
  3.6 s to MIGRATE (~150 MiB/s); the default rate assumes a third of that.
- A key of ``big_key_bytes`` or more moves alone, and for it every node's
  ``cluster-node-timeout`` is raised (``CONFIG SET``, live only: a restarted node reads the
  configured value from its file) to outlast the block, and the target's
  ``proto-max-bulk-len`` to fit its payload; both are set back right after.
- Once keys of a slot start moving, the move only goes forward: keys are never moved back
  to a source that serves the slot, because while it serves it a client may write a fresh
  copy of a key already moved (a write lost when the old copy comes back).

``settle`` repairs what a move interrupted by anything (a crash of the control plane, a
failover, a lost target) left: every slot some node has MIGRATING or IMPORTING, or whose
owner the nodes do not agree on, goes to one live master. The owner is the master holding
its keys if only one does; if several do, the one (other than the owner the cluster names)
holding the most, so the move goes forward; if none does, the owner the cluster names (the
claim with the highest config epoch). Keys elsewhere move to it by the protocol above, then
``SETSLOT NODE`` on every master. A slot is never taken from a node still holding keys in
it: Redis deletes the keys of a slot a node loses to a higher epoch.

Config epochs. Of two claims on a slot the one with the greater config epoch wins in every
node's view, and the loser deletes its keys in the slot. So a node about to claim slots
another claims now (a move's target; a settled slot's owner other than the one the cluster
names) first gets an epoch above that claimant's (``_outrank``). ``SETSLOT NODE`` on an
importing node raises its epoch only if it is not already the greatest *it knows of*; a
claimant's greater epoch not yet gossiped to it left it claiming with a smaller one, and a
resumed rebalance lost the keys of a whole batch of slots so. An owner keeping the slot the
cluster already names for it is not raised: raised, its stale claims would win over the
next move's target.

Replicas that lag: Valkey 8 refuses ``CLUSTER SETSLOT`` ``NOREPLICAS`` while a replica has
not acknowledged it in time, and any server refuses ``MIGRATE`` so under
``min-replicas-to-write``; every such command here goes through
``lagging_replicas.patiently``, which sends the refused ones again while the replicas catch up.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import redis

from managed_redis import failpoints
from managed_redis.engine.base import Engine
from managed_redis.engine.errors import EngineError
from managed_redis.engine.facts import info_value
from managed_redis.engine.lagging_replicas import patiently
from managed_redis.engine.model import Node
from managed_redis.engine.slot_states import (
    SlotState,
    claimed_owners,
    slot_state,
    troubled_slots,
    views_of_slot,
)

log = logging.getLogger(__name__)

MIB = 1024 * 1024
SLOT_BATCH = 256
MIGRATE_BATCH = 1000
# MIGRATE's own timeout: the longest the source waits on the target without progress.
MIGRATE_IDLE_MS = 60_000
# The most keys of one slot measured before its move; a slot with more moves unmeasured
# beyond them (each batch is still measured as it goes).
MEASURE_LIMIT = 100_000
AGREE_TIMEOUT_S = 60.0
# How long a node may take to hear, by gossip, of the config epochs it must outrank.
OUTRANK_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class MoveLimits:
    """How big keys are moved. Sizes are ``MEMORY USAGE`` bytes."""

    # A key at least this large moves alone, under a longer cluster-node-timeout.
    big_key_bytes: int = 8 * MIB
    # How fast MIGRATE moves a key's memory, conservatively: how long it will block.
    rate_bytes_per_s: int = 50 * MIB
    # A key that would block its shard longer than this is not moved: its slot stays.
    max_block_s: float = 120.0

    def block_s(self, size: int) -> float:
        """Seconds a MIGRATE of ``size`` bytes is expected to block source and target.
        Never raises."""
        return size / max(1, self.rate_bytes_per_s)


@dataclass
class MoveReport:
    """Slots moved, keys moved, and the slots kept by their source with the reason."""

    slots: list[int] = field(default_factory=list)
    keys: int = 0
    kept: dict[int, str] = field(default_factory=dict)


class SlotMover:
    """Moves slots of one cluster. ``everyone`` is every running node of it (masters and
    replicas): whose node timeout is raised while a big key moves."""

    def __init__(self, engine: Engine, limits: MoveLimits, everyone: Sequence[Node]) -> None:
        self.engine = engine
        self.limits = limits
        self.everyone = list(everyone)
        self._raw: dict[str, redis.Redis] = {}

    def _admin(self, node: Node) -> redis.Redis:
        return self.engine.admin(node)

    def _keys_client(self, node: Node) -> redis.Redis:
        """A connection to ``node`` that reads key names as bytes: a key may be named by any
        bytes, which the control connections (decoding replies as UTF-8) cannot read."""
        client = self._raw.get(node.name)
        if client is None:
            client = self._raw[node.name] = _client_like(self._admin(node), decode=False)
        return client

    # -- a planned move --------------------------------------------------------------------

    def move(
        self, source: Node, source_id: str, target: Node, target_id: str, others: Sequence[Node], slots: Sequence[int]
    ) -> MoveReport:
        """Move ``slots`` and their keys from ``source`` to ``target``; ``others`` are the
        remaining masters. ``SLOT_BATCH`` slots at a time, each protocol step pipelined.

        A slot with a key too large to move is kept (see the module docstring). If a batch
        fails midway its slots are settled, then EngineError is raised saying so."""
        report = MoveReport()
        src, dst = self._keys_client(source), self._admin(target)
        for start in range(0, len(slots), SLOT_BATCH):
            batch = []
            chosen = list(slots[start : start + SLOT_BATCH])
            counts = _pipelined(src, [("CLUSTER", "COUNTKEYSINSLOT", slot) for slot in chosen])
            for slot, count in zip(chosen, counts, strict=True):
                why = self._too_large(src, slot, int(str(count)))
                if why:
                    log.warning("slot %d stays on %s: %s", slot, source.name, why)
                    report.kept[slot] = why
                else:
                    batch.append(slot)
            if not batch:
                continue
            try:
                report.keys += self._move_batch(source, src, source_id, target, dst, target_id, others, batch)
            except (redis.RedisError, EngineError) as exc:
                raise self._interrupted(source, target, others, batch, exc) from exc
            report.slots += batch
        return report

    def _move_batch(
        self,
        source: Node,
        src: redis.Redis,
        source_id: str,
        target: Node,
        dst: redis.Redis,
        target_id: str,
        others: Sequence[Node],
        batch: list[int],
    ) -> int:
        patiently(dst, [("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id) for slot in batch])
        failpoints.reached("slots.importing")
        patiently(src, [("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id) for slot in batch])
        failpoints.reached("slots.migrating")
        counts = _pipelined(src, [("CLUSTER", "COUNTKEYSINSLOT", slot) for slot in batch])
        moved = 0
        for slot, count in zip(batch, counts, strict=True):
            if int(str(count)):
                moved += self.move_keys(source, target, slot)
                failpoints.reached("slots.keys_moved")
        self._outrank(target, [source])
        patiently(dst, [("CLUSTER", "SETSLOT", slot, "NODE", target_id) for slot in batch])
        failpoints.reached("slots.target_assigned")
        for node in (source, *others):
            patiently(self._admin(node), [("CLUSTER", "SETSLOT", slot, "NODE", target_id) for slot in batch])
        return moved

    def _interrupted(
        self, source: Node, target: Node, others: Sequence[Node], batch: list[int], exc: Exception
    ) -> EngineError:
        slots = f"slots {batch[0]}..{batch[-1]}" if len(batch) > 1 else f"slot {batch[0]}"
        why = f"moving {slots} from {source.name} to {target.name} failed: {exc}"
        log.warning("%s; settling them", why)
        try:
            done = self.settle(set(batch))
        except (redis.RedisError, EngineError) as again:
            return EngineError(f"{why}; settling them failed too ({again}): the supervisor settles them later")
        return EngineError(f"{why}; every slot has one owner again ({len(done)} settled)")

    def _too_large(self, src: redis.Redis, slot: int, count: int) -> str:
        """Why ``slot`` (holding ``count`` keys) must not move (a key too large to move in
        time), or ''."""
        if not count:
            return ""
        keys = src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, min(count, MEASURE_LIMIT))
        for key, size in zip(keys, self._sizes(src, keys), strict=True):
            block_s = self.limits.block_s(size)
            if block_s > self.limits.max_block_s:
                return (
                    f"key {key!r} uses ~{size // MIB} MiB; moving it would block its shard ~{block_s:.0f} s, "
                    f"more than the {self.limits.max_block_s:.0f} s allowed (split the key, or raise the limit)"
                )
        return ""

    def _sizes(self, client: redis.Redis, keys: Sequence[bytes]) -> list[int]:
        """``MEMORY USAGE`` of each key in bytes (0 for a key gone meanwhile). Each is asked
        after ``ASKING``: a node importing the slot would otherwise redirect the question."""
        sizes = []
        for start in range(0, len(keys), MIGRATE_BATCH):
            chunk = keys[start : start + MIGRATE_BATCH]
            pipe = client.pipeline(transaction=False)
            for key in chunk:
                pipe.execute_command("ASKING")
                pipe.execute_command("MEMORY", "USAGE", key)
            replies = pipe.execute(raise_on_error=False)[1::2]
            sizes += [int(size) if isinstance(size, int) else 0 for size in replies]
        return sizes

    # -- keys ------------------------------------------------------------------------------

    def move_keys(self, holder: Node, target: Node, slot: int) -> int:
        """MIGRATE every key of ``slot`` from ``holder`` to ``target`` (both must already be
        in the states that let it: see the module docstring); returns how many moved. Small
        keys go together, up to ``big_key_bytes`` a MIGRATE (so each blocks briefly); a big
        key alone, under a longer node timeout.
        Raises redis.RedisError if either node cannot be asked or a MIGRATE fails (the keys not
        yet moved stay on ``holder``)."""
        client = self._keys_client(holder)
        moved = 0
        while True:
            keys = client.execute_command("CLUSTER", "GETKEYSINSLOT", slot, MIGRATE_BATCH)
            if not keys:
                return moved
            sizes = self._sizes(client, keys)
            group: list[bytes] = []
            group_bytes = 0
            for key, size in zip(keys, sizes, strict=True):
                if size >= self.limits.big_key_bytes:
                    self._migrate_big(holder, target, key, size)
                    continue
                if group and group_bytes + size > self.limits.big_key_bytes:
                    self._migrate(client, target, group, MIGRATE_IDLE_MS)
                    group, group_bytes = [], 0
                group.append(key)
                group_bytes += size
            if group:
                self._migrate(client, target, group, MIGRATE_IDLE_MS)
            moved += len(keys)

    def _migrate(self, client: redis.Redis, target: Node, keys: Sequence[bytes], idle_ms: int) -> None:
        credentials = target.credentials
        command = (
            "MIGRATE",
            target.address,
            target.port,
            "",
            0,
            idle_ms,
            "REPLACE",
            "AUTH2",
            credentials.admin_user,
            credentials.admin_password,
            "KEYS",
            *keys,
        )
        patiently(client, [command])

    def _migrate_big(self, holder: Node, target: Node, key: bytes, size: int) -> None:
        block_s = self.limits.block_s(size)
        log.info(
            "moving big key %r (~%d MiB, ~%.1f s) from %s to %s", key, size // MIB, block_s, holder.name, target.name
        )
        # The replies come only once the key is across: a connection of its own that waits.
        wait_s = 3 * block_s + 30
        client = _client_like(self._admin(holder), decode=False, timeout_s=wait_s)
        try:
            with self.stretched(block_s), self._bulk_fits(target, size):
                failpoints.reached("slots.stretched")
                self._migrate(client, target, [key], max(MIGRATE_IDLE_MS, int(wait_s * 1000)))
                # Their replicas replay the RESTORE and the DEL, blocking as long: the
                # timeouts stay raised until they did.
                for node in (target, holder):
                    self._wait_replicas(node, wait_s)
        finally:
            client.close()

    def _wait_replicas(self, node: Node, timeout_s: float) -> None:
        """Until every replica linked to ``node`` acknowledged its writes so far (``WAIT``),
        at most ``timeout_s``."""
        client = _client_like(self._admin(node), decode=True, timeout_s=timeout_s + 5)
        try:
            linked = int(client.info("replication").get("connected_slaves", 0))
            if linked:
                client.execute_command("WAIT", linked, int(timeout_s * 1000))
        finally:
            client.close()

    @contextlib.contextmanager
    def stretched(self, block_s: float) -> Iterator[None]:
        """Every node's cluster-node-timeout raised to outlast a block of ``block_s`` (three
        times it, plus the configured timeout), set back as configured afterwards.
        Never raises of its own: a node that cannot be reached keeps its timeout (it reports no
        one failing)."""
        try:
            for node in self.everyone:
                try:
                    self._admin(node).config_set(
                        "cluster-node-timeout", node.cluster_node_timeout_ms + int(3000 * block_s)
                    )
                except (redis.ConnectionError, redis.TimeoutError) as exc:  # a node down reports no one failing
                    log.warning("could not raise the node timeout of %s: %s", node.name, exc)
            yield
        finally:
            self.restore_node_timeouts()

    def restore_node_timeouts(self) -> None:
        """Set every reachable node's cluster-node-timeout back to its configured value.
        Never raises (a node that cannot be told is logged; its own restart reads the configured
        value)."""
        for node in self.everyone:
            try:
                self._admin(node).config_set("cluster-node-timeout", node.cluster_node_timeout_ms)
            except redis.RedisError as exc:  # its own restart reads the configured value
                log.warning("could not restore the node timeout of %s: %s", node.name, exc)

    @contextlib.contextmanager
    def _bulk_fits(self, target: Node, size: int) -> Iterator[None]:
        """The target's proto-max-bulk-len raised to take a RESTORE payload of a key using
        ``size`` bytes (a payload is no larger than the key in memory; twice that, to be safe)."""
        client = self._admin(target)
        current = int(str(client.config_get("proto-max-bulk-len")["proto-max-bulk-len"]))
        wanted = 2 * size + MIB
        if wanted > current:
            client.config_set("proto-max-bulk-len", wanted)
        try:
            yield
        finally:
            if wanted > current:
                client.config_set("proto-max-bulk-len", current)

    # -- repair ----------------------------------------------------------------------------

    def settle(self, only: set[int] | None = None) -> list[str]:
        """Give every troubled slot (``only`` those, if given) one owner among the nodes that
        say they are masters now (a failover may have changed them), as the module docstring
        says; set every node's node timeout back; wait until every node agrees. Returns a
        sentence per slot settled. Raises EngineError (or a RedisError) if a slot could not
        be settled or the nodes do not come to agree; what was settled before stays settled."""
        self.restore_node_timeouts()
        done, troubled = self._settle_once(only)
        if done:
            self.wait_agreed(troubled)
        return done

    def _settle_once(self, only: set[int] | None) -> tuple[list[str], set[int]]:
        """One settling round without waiting: (a sentence per slot settled, the slots that
        were troubled). Raises as ``settle``."""
        states = self._states()
        ids = {state.node_id: node for node in self.everyone if (state := states.get(node.name)) and state.is_master}
        troubled = troubled_slots(list(states.values()))
        if only is not None:
            troubled &= only
        claimed = claimed_owners(list(states.values()))
        done: list[str] = []
        for slot in sorted(troubled):
            settled = self._settle_slot(slot, ids, states, claimed.get(slot))
            if settled:
                done.append(settled)
        return done, troubled

    def _states(self) -> dict[str, SlotState]:
        """node name -> what it says of the slots, for every node that answers."""
        states = {}
        for node in self.everyone:
            with contextlib.suppress(redis.RedisError):
                states[node.name] = slot_state(str(self._admin(node).execute_command("CLUSTER", "NODES")))
        return states

    def _settle_slot(
        self, slot: int, ids: dict[str, Node], states: dict[str, SlotState], claimed: str | None
    ) -> str | None:
        """Settle one slot; a sentence saying how, or None if it must wait (its owner is no
        live master: a failover comes first)."""
        counts = {
            node_id: int(str(self._admin(node).execute_command("CLUSTER", "COUNTKEYSINSLOT", slot)))
            for node_id, node in ids.items()
        }
        holders = [node_id for node_id, count in counts.items() if count]
        if len(holders) == 1:
            owner = holders[0]
        elif holders:
            owner = max((h for h in holders if h != claimed), key=lambda h: counts[h])
        elif claimed in ids:
            owner = claimed
        else:
            open_on = [i for i, node in ids.items() if slot in states[node.name].migrating]
            if not open_on:
                log.warning("slot %d: its owner %s is no live master; left for now", slot, claimed)
                return None
            owner = open_on[0]
        target = ids[owner]
        for holder in holders:
            if holder != owner:
                self._open_for(slot, ids[holder], holder, target, owner, claimed)
                self.move_keys(ids[holder], target, slot)
        if claimed in ids and claimed != owner:
            self._outrank(target, [ids[claimed]])
        self._assign(slot, target, owner, [node for node_id, node in ids.items() if node_id != owner])
        moved = f", keys of {len(holders) - 1} other master(s) moved to it" if len(holders) > 1 else ""
        return f"slot {slot} -> {target.name}{moved}"

    def _open_for(
        self, slot: int, holder: Node, holder_id: str, target: Node, target_id: str, claimed: str | None
    ) -> None:
        """Put ``holder`` and ``target`` in the states that let keys of ``slot`` go forward from
        one to the other: the target importing, the holder migrating if it owns the slot,
        else importing too (a node runs MIGRATE for a slot only while it has it open)."""
        peer = claimed if claimed and claimed != target_id else holder_id
        patiently(self._admin(target), [("CLUSTER", "SETSLOT", slot, "IMPORTING", peer)])
        if holder_id == claimed:
            patiently(self._admin(holder), [("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)])
        else:
            patiently(self._admin(holder), [("CLUSTER", "SETSLOT", slot, "IMPORTING", peer)])

    def _assign(self, slot: int, owner: Node, owner_id: str, rest: Sequence[Node]) -> None:
        """SETSLOT NODE on the owner first (closing its import raises its epoch), then on the
        rest, each of which must hold no key of the slot any more; then STABLE everywhere:
        NODE closes neither an import on another node nor a migration on a node still
        holding keys (the owner's own, when the slot stays where its keys are)."""
        for node in (owner, *rest):
            patiently(
                self._admin(node),
                [("CLUSTER", "SETSLOT", slot, "NODE", owner_id), ("CLUSTER", "SETSLOT", slot, "STABLE")],
            )

    def _outrank(self, node: Node, rivals: Sequence[Node], timeout_s: float = OUTRANK_TIMEOUT_S) -> None:
        """Give ``node`` a config epoch greater than each of ``rivals``' before it claims slots
        they claim (see the module docstring). ``CLUSTER BUMPEPOCH`` raises it above the
        greatest epoch it knows of (``cluster_current_epoch``), so it is sent once ``node``
        has heard of the rivals' epochs by gossip (within a node timeout or so); two equal
        epochs are first told apart by Redis itself. Raises EngineError after ``timeout_s``
        seconds, or a RedisError if a node cannot be asked."""
        client = self._admin(node)
        deadline = time.monotonic() + timeout_s
        while True:
            mine, known = _epochs(client)
            highest = max((_epochs(self._admin(rival))[0] for rival in rivals), default=0)
            if mine > highest:
                return
            if known >= highest and mine != known:
                client.execute_command("CLUSTER", "BUMPEPOCH")
                continue
            if time.monotonic() > deadline:
                raise EngineError(
                    f"{node.name}'s config epoch ({mine}) is not above {highest} after {timeout_s:.0f} s; "
                    "it would lose the slots it takes"
                )
            time.sleep(0.05)

    def wait_agreed(self, slots: set[int], timeout_s: float = AGREE_TIMEOUT_S) -> None:
        """Until every running node names the same owner for each of ``slots`` and has none
        open (gossip carries a new owner to the replicas within a node timeout or so). If they
        still disagree after a third of ``timeout_s``, the slots are settled once more (the
        owner told again): a view that gossip did not correct is corrected directly. Raises
        EngineError after ``timeout_s``, saying what each node says of the first slot in
        dispute."""
        started = time.monotonic()
        settled_again = False
        while True:
            states = self._states()
            disputed = troubled_slots(list(states.values())) & slots
            if not disputed:
                return
            waited_s = time.monotonic() - started
            if waited_s > timeout_s:
                first = min(disputed)
                raise EngineError(
                    f"the nodes still disagree on {len(disputed)} slot(s) after {timeout_s:.0f} s "
                    f"(first {sorted(disputed)[:10]}); of slot {first}: {views_of_slot(states, first)}"
                )
            if not settled_again and waited_s > timeout_s / 3:
                settled_again = True
                first = min(disputed)
                log.warning(
                    "the nodes still disagree on %d slot(s) after %.0f s (of slot %d: %s); settling them again",
                    len(disputed),
                    waited_s,
                    first,
                    views_of_slot(states, first),
                )
                self._settle_once(disputed)
                continue
            time.sleep(0.05)


def _client_like(client: redis.Redis, decode: bool, timeout_s: float | None = None) -> redis.Redis:
    """A new client to ``client``'s node with its credentials, decoding replies or not,
    and (``timeout_s``) waiting that long for a reply."""
    kwargs = dict(client.connection_pool.connection_kwargs)
    kwargs["decode_responses"] = decode
    if timeout_s is not None:
        kwargs["socket_timeout"] = timeout_s
        kwargs.pop("retry", None)
    return redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=client.connection_pool.connection_class, **kwargs)
    )


def _epochs(client: redis.Redis) -> tuple[int, int]:
    """(the node's own config epoch, the greatest epoch it knows of) from ``CLUSTER INFO``."""
    info = str(client.execute_command("CLUSTER", "INFO"))
    return int(info_value(info, "cluster_my_epoch") or 0), int(info_value(info, "cluster_current_epoch") or 0)


def _pipelined(client: redis.Redis, commands: Sequence[tuple[object, ...]]) -> list[object]:
    """Send ``commands`` in one round trip; raise the first error among the replies."""
    pipe = client.pipeline(transaction=False)
    for command in commands:
        pipe.execute_command(*command)
    return list(pipe.execute(raise_on_error=True))
