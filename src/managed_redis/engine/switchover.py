"""A planned switchover behind Sentinel that loses no acknowledged write.

Measured on this machine (docs/engine.md): a bare ``SENTINEL FAILOVER`` leaves the old master
writable for ~11 s and lost 2144 acknowledged writes; Redis's own ``FAILOVER`` behind
Sentinel's back made Sentinel fight it for 28 s. What lost nothing:

1. steer Sentinel: ``replica-priority 0`` on every replica but the target, and wait until
   Sentinel has seen it (while a switchover runs, the Sentinels poll replicas every second:
   ``attentive``);
2. ``CLIENT PAUSE <ms> WRITE`` on the master, timed so that the leading Sentinel's next
   once-a-second look at the target falls just after the promotion: Sentinel notices the
   new master at that look, and only then tells its peers and, through them, the clients;
3. wait until the target's replication offset equals the master's;
4. ``SENTINEL FAILOVER``; wait until the target says it is master;
5. ``REPLICAOF <target>`` on the old master (allowed while paused), then ``CLIENT UNPAUSE``;
6. put the replicas' priorities back.

Writes pause for about 0.2-0.5 s. Any failure before step 4 unpauses and leaves the master
where it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from managed_redis import failpoints
from managed_redis.engine.base import Engine
from managed_redis.engine.errors import EngineError
from managed_redis.engine.model import Node, Sentinel

log = logging.getLogger(__name__)

# Writes on the old master stay paused until it is a replica (~0.2-0.5 s when all goes well).
# Should the control plane die mid-way, the pause holds them until the control plane is
# back and finishes (or the supervisor demotes the old master); the old master is also fenced
# before the promotion (FENCE_MIN_REPLICAS), so whatever was paused is refused, not
# acknowledged, when the pause ends. Sentinel may see a long-paused master as down (its
# hello PUBLISH waits behind the pause, and its pings behind that) and fail it over itself.
PAUSE_MS = 15_000
# How often the Sentinels look at every instance while a switchover or a priority change
# needs them to see it soon, and how often otherwise (engine/local.py, SENTINEL_TIMERS_MS).
INFO_PERIOD_MS = 1000
IDLE_INFO_PERIOD_MS = 10_000
# Start the pause when the leader last looked at the target this long ago: the promotion
# (~0.15-0.35 s here) then ends shortly before its next look.
ALIGN_AGE_MS = 550
ALIGN_TIMEOUT_S = 2.5
CATCH_UP_TIMEOUT_S = 3.0
PROMOTION_TIMEOUT_S = 4.0
STEER_TIMEOUT_S = 15.0
ANNOUNCE_TIMEOUT_S = 15.0
# min-replicas-to-write set on the old master just before the promotion: no replica count
# can reach it, so from then on it refuses every write (NOREPLICAS) until it is a replica and
# the value is put back. It is what keeps a promotion the control plane did not live to
# finish from losing writes.
FENCE_MIN_REPLICAS = 1_000_000
SETTLE_TIMEOUT_S = 30.0
# How long a failover of a gone master waits for a Sentinel to see its replicas' offsets (its
# attentive look comes every second).
OFFSETS_TIMEOUT_S = 2.5


@dataclass(frozen=True)
class SwitchoverReport:
    old_master: str
    new_master: str
    writes_paused_s: float


def _replicas(engine: Engine, sentinel: Sentinel) -> dict[str, dict[str, str]]:
    """What Sentinel knows of each replica, by address."""
    replies = engine.sentinel_admin(sentinel).execute_command("SENTINEL", "REPLICAS", sentinel.master_name)
    result = {}
    for reply in replies:
        fields = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2], strict=False))
        result[str(fields["ip"])] = {str(k): str(v) for k, v in fields.items()}
    return result


def _priority(engine: Engine, sentinel: Sentinel, address: str) -> int:
    return int(_replicas(engine, sentinel).get(address, {}).get("slave-priority", -1))


def _align(engine: Engine, sentinel: Sentinel, target: Node) -> None:
    """Wait (at most ~one INFO period) until the leader looked at the target ALIGN_AGE_MS ago."""
    deadline = time.monotonic() + ALIGN_TIMEOUT_S
    while time.monotonic() < deadline:
        age = int(_replicas(engine, sentinel).get(target.address, {}).get("info-refresh", -1))
        if ALIGN_AGE_MS <= age <= ALIGN_AGE_MS + 40:
            return
        time.sleep(0.005)


def _wait(condition_s: float, check: object, failure: str) -> None:
    deadline = time.monotonic() + condition_s
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise EngineError(failure)
        time.sleep(0.005)


def switchover(
    engine: Engine,
    master: Node,
    target: Node,
    others: Sequence[Node],
    sentinel: Sentinel,
    all_sentinels: Sequence[Sentinel],
) -> SwitchoverReport:
    """Move the master role from ``master`` to ``target``; ``others`` are the other replicas.
    Raises EngineError naming the step that did not happen in time (the Sentinel did not see the
    priorities, the target did not catch up: nothing changed; it was not promoted, not every
    Sentinel names it, not every replica follows it); redis.RedisError if the master, the target
    or the Sentinel cannot be asked or refuses. The others' priorities and the master's pause
    are put back either way."""
    with attentive(engine, all_sentinels):
        return _switchover(engine, master, target, others, sentinel, all_sentinels)


def _switchover(
    engine: Engine,
    master: Node,
    target: Node,
    others: Sequence[Node],
    sentinel: Sentinel,
    all_sentinels: Sequence[Sentinel],
) -> SwitchoverReport:
    for node in others:
        engine.admin(node).config_set("replica-priority", 0)
    try:
        _wait(
            STEER_TIMEOUT_S,
            lambda: all(_priority(engine, sentinel, n.address) == 0 for n in others),
            f"sentinel on {sentinel.name} did not see the replica priorities change",
        )
        failpoints.reached("switchover.steered")
        _align(engine, sentinel, target)
        paused_at = _pause_and_promote(engine, master, target, sentinel)
    finally:
        restore_priorities(engine, others)
    paused_s = time.monotonic() - paused_at
    _wait(
        ANNOUNCE_TIMEOUT_S,
        lambda: all(engine.master_seen_by(s) == target.address for s in all_sentinels),
        f"not every sentinel names {target.name} as master",
    )
    # Done once in force: the Sentinels re-point the other replicas one by one after they
    # announce the new master (parallel-syncs 1); until then those still follow the old one.
    running = [node for node in others if engine.node_running(node)]
    _wait(
        ANNOUNCE_TIMEOUT_S,
        lambda: all(_follows(engine, node, target) for node in running),
        f"not every replica follows {target.name} yet",
    )
    return SwitchoverReport(master.name, target.name, paused_s)


def _follows(engine: Engine, replica: Node, master: Node) -> bool:
    try:
        info = engine.replication(replica)
    except redis.RedisError:
        return False
    return info.get("master_host") == master.address and info.get("master_link_status") == "up"


def _fields(reply: object) -> dict[str, str]:
    if isinstance(reply, dict):
        return {str(k): str(v) for k, v in reply.items()}
    items = list(reply) if isinstance(reply, list | tuple) else []
    return {str(k): str(v) for k, v in zip(items[::2], items[1::2], strict=False)}


def wait_settled(engine: Engine, sentinels: Sequence[Sentinel], timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Return once no Sentinel is amid a failover or sees the master down (it would soon start
    one), and those that answer name one master: a switchover resumed after a crash starts
    from a settled cluster. Raises EngineError if they do not settle within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        named, busy = set(), False
        for sentinel in sentinels:
            try:
                reply = engine.sentinel_admin(sentinel).execute_command("SENTINEL", "MASTER", sentinel.master_name)
            except redis.RedisError:
                continue
            fields = _fields(reply)
            flags = fields.get("flags", "").split(",")
            busy = busy or any(flag in flags for flag in ("failover_in_progress", "s_down", "o_down"))
            named.add(fields.get("ip"))
        if not busy and len(named) == 1:
            return
        if time.monotonic() > deadline:
            raise EngineError(f"the Sentinels did not settle on one master within {timeout_s:.0f} s")
        time.sleep(0.05)


@contextmanager
def attentive(engine: Engine, sentinels: Sequence[Sentinel]) -> Iterator[None]:
    """Have the Sentinels look at every instance each second while the block runs, then every
    ``IDLE_INFO_PERIOD_MS`` again (a Sentinel that could not be told is left as it is).
    Never raises of its own."""
    _info_period(engine, sentinels, INFO_PERIOD_MS)
    try:
        yield
    finally:
        _info_period(engine, sentinels, IDLE_INFO_PERIOD_MS)


def calm(engine: Engine, sentinels: Sequence[Sentinel]) -> None:
    """Put the Sentinels back on their idle info period (after a switchover that did not end).
    Never raises (a Sentinel that cannot be told is logged)."""
    _info_period(engine, sentinels, IDLE_INFO_PERIOD_MS)


def _info_period(engine: Engine, sentinels: Sequence[Sentinel], period_ms: int) -> None:
    for sentinel in sentinels:
        try:
            engine.sentinel_admin(sentinel).execute_command("SENTINEL", "DEBUG", "info-period", period_ms)
        except redis.RedisError as exc:
            log.warning("could not set the info period of the sentinel on %s: %s", sentinel.name, exc)


def wait_priorities_seen(
    engine: Engine, sentinels: Sequence[Sentinel], expected: dict[str, int], timeout_s: float = STEER_TIMEOUT_S
) -> None:
    """Return once every Sentinel reports each replica address in ``expected`` with that
    priority: until then a failover may still promote a replica by its old priority.
    Raises EngineError after ``timeout_s`` (the Sentinels re-read replicas every second
    meanwhile)."""
    with attentive(engine, sentinels):
        for sentinel in sentinels:
            _wait(
                timeout_s,
                lambda s=sentinel: all(_priority(engine, s, a) == p for a, p in expected.items()),
                f"sentinel on {sentinel.name} has not seen the new replica priorities",
            )


def wait_offsets_seen(
    engine: Engine, sentinel: Sentinel, replicas: Sequence[Node], timeout_s: float = OFFSETS_TIMEOUT_S
) -> bool:
    """Return True once ``sentinel`` knows each of ``replicas`` at its replication offset as it
    is now (``slave-repl-offset`` of ``SENTINEL REPLICAS``); False after ``timeout_s``.

    Meant for a master that is gone, whose replicas' offsets no longer move: a forced
    ``SENTINEL FAILOVER`` picks the replica with the highest offset *Sentinel* knows, from its
    last INFO of each (every 10 s unless ``attentive``). A replica that finished a full sync
    just before the master died looks the same as the others to it, though it received
    nothing since (the master streams to it only after its first ``REPLCONF ACK``, up to a
    second later): promoted, it would drop what the others acknowledged. A replica that
    cannot be asked is left out. Never raises."""
    actual = {}
    for node in replicas:
        try:
            info = engine.admin(node).info("replication")
        except redis.RedisError:
            continue
        if isinstance(info, dict) and "slave_repl_offset" in info:
            actual[node.address] = int(info["slave_repl_offset"])

    if not actual:
        return True

    def seen() -> bool:
        try:
            known = _replicas(engine, sentinel)
        except redis.RedisError:
            return False
        return all(int(known.get(address, {}).get("slave-repl-offset", -1)) == o for address, o in actual.items())

    with attentive(engine, [sentinel]):
        try:
            _wait(timeout_s, seen, "")
        except EngineError:
            return False
    return True


def restore_priorities(engine: Engine, replicas: Sequence[Node]) -> None:
    """Put each replica's replica-priority back to what it declares (a switchover sets the
    others' to 0 for its duration; a crash may have left them so).
    Never raises (a replica that cannot be told is logged)."""
    for node in replicas:
        try:
            engine.admin(node).config_set("replica-priority", node.replica_priority)
        except redis.RedisError as exc:
            log.warning("could not restore replica-priority on %s: %s", node.name, exc)


def unpause(engine: Engine, node: Node) -> None:
    """End a ``CLIENT PAUSE`` on ``node`` (a node not paused is left as it is); should that
    fail, the pause ends by itself.
    Never raises."""
    try:
        engine.admin(node).execute_command("CLIENT", "UNPAUSE")
    except redis.RedisError as exc:
        log.warning("CLIENT UNPAUSE on %s failed (%s); the pause ends by itself", node.name, exc)


def _pause_and_promote(engine: Engine, master: Node, target: Node, sentinel: Sentinel) -> float:
    old = engine.admin(master)
    new = engine.admin(target)
    old.execute_command("CLIENT", "PAUSE", PAUSE_MS, "WRITE")
    paused_at = time.monotonic()
    min_replicas = str(old.config_get("min-replicas-to-write").get("min-replicas-to-write") or "0")
    promoted = False
    try:
        failpoints.reached("switchover.paused")
        _wait(
            CATCH_UP_TIMEOUT_S,
            lambda: (
                int(new.info("replication").get("slave_repl_offset", -1))
                >= int(old.info("replication")["master_repl_offset"])
            ),
            f"replica {target.name} did not catch up with {master.name}; nothing was changed",
        )
        old.config_set("min-replicas-to-write", FENCE_MIN_REPLICAS)
        engine.sentinel_admin(sentinel).execute_command("SENTINEL", "FAILOVER", sentinel.master_name)
        _wait(
            PROMOTION_TIMEOUT_S,
            lambda: new.execute_command("ROLE")[0] == "master",
            f"sentinel did not promote {target.name} in time",
        )
        promoted = True
        failpoints.reached("switchover.promoted")
        old.execute_command("REPLICAOF", target.address, target.port)
    finally:
        _finish(engine, master, target, promoted, min_replicas)
    return paused_at


def _finish(engine: Engine, master: Node, target: Node, promoted: bool, min_replicas: str) -> None:
    """Leave the old master either a replica of a promoted target or the master it was:
    never a master again with the target promoted after all (a late promotion)."""
    old = engine.admin(master)
    try:
        if not promoted and engine.admin(target).execute_command("ROLE")[0] == "master":
            log.warning("%s was promoted late; %s follows it", target.name, master.name)
            old.execute_command("REPLICAOF", target.address, target.port)
            promoted = True
        old.config_set("min-replicas-to-write", min_replicas)
    except redis.RedisError as exc:
        log.warning(
            "switchover from %s to %s: could not put %s back in order (%s)", master.name, target.name, master.name, exc
        )
    unpause(engine, master)
    if not promoted:
        log.warning("switchover from %s to %s abandoned; %s stays master", master.name, target.name, master.name)


def lift_fence(engine: Engine, node: Node) -> None:
    """End what a switchover that did not finish may have left on ``node``, now the master
    everyone names: its write pause and the fence of FENCE_MIN_REPLICAS (the supervisor puts
    its proper min-replicas-to-write back on its next pass).
    Never raises (what cannot be done is logged)."""
    unpause(engine, node)
    try:
        client = engine.admin(node)
        if int(client.config_get("min-replicas-to-write").get("min-replicas-to-write") or 0) >= FENCE_MIN_REPLICAS:
            client.config_set("min-replicas-to-write", 0)
    except redis.RedisError as exc:
        log.warning("could not lift the fence on %s: %s", node.name, exc)
