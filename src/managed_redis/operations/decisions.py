"""What the supervisor should do about a cluster, decided from what it saw: a pure function.

``decide(view, policy, now)`` reads a ``ClusterView`` (declared hosts, recorded masters, each
host's last facts and when Redis last answered) and returns ``Action``s, each with a sentence
saying why. It does nothing itself and reads no clock, process or store, so every situation
is a row of a table in ``tests/unit/test_decisions.py``. One broken host yields actions about
that host; it never stops the decisions about the others.

The rules, for each shard:

- **The master.** Non-sharded, the master is the host the Sentinels name (most of those that
  answer), else the one host that says it is master, else the recorded one. Sharded, it is
  the host that says it is master, else the recorded one.
- **Master gone** (its process exited): a replica that may be promoted (priority not 0,
  following that master) takes over at once: ``SENTINEL FAILOVER``, or ``CLUSTER FAILOVER
  TAKEOVER`` (no vote needed: the process is certainly dead, which also makes a Redis
  Cluster of fewer than 3 masters fail over). With no such replica, or when no new master
  appeared within ``restart_master_after_s``, the master is restarted from its data: its
  AOF if it keeps one; else a snapshot of the replica holding the data (an empty master
  would wipe its replicas); else what its disk holds.
- **Master silent** (alive, not answering) for ``fence_after_s`` while it is stopped by a
  signal or its replicas hear nothing from it either: it is fenced before a replica is
  promoted (``Engine.fence``), so it acknowledges nothing that would be lost; then as above.
- **Master replaced** (a host says it is master while the Sentinels name another that
  answers as master): it is made a replica of that one, at once when the named one was
  promoted in its place (replication ids say so), else after ``demote_grace_s``; even on a
  cluster an operation holds, once that operation is orphaned (its control plane died).
- **Replicas and Sentinels** whose process is gone are restarted (a replica following the
  master); a replica that runs but has answered neither the control plane nor its master for
  twice ``fence_after_s`` (hung, or a fenced master that was resumed) is killed and started
  again; a Sentinel naming another master
  than its peers for ``sentinel_reset_after_s`` is restarted from a fresh config; a host
  whose files are gone while it serves gets them back.
- **Settings that follow roles**: persistence ON_REPLICAS keeps an AOF on replicas only; a
  master with at least two replicas linked refuses writes when none acknowledges for
  ``min-replicas-max-lag`` (bounding what an isolated master can take and then lose); with
  fewer, that bound is lifted (a lone replica's restart would stop writes); a replica keeps
  none (a switchover's fence left on one would stop writes once it is promoted).
- **Every process gone**: a cold start, beginning with the master the Sentinels last wrote down.
- **Slots half-moved** (sharded): a node has a slot MIGRATING or IMPORTING, the nodes name
  different owners for a slot, or a node's cluster-node-timeout is still raised for a big
  key's move, seen for ``settle_slots_after_s`` with no operation carrying a move on (a
  control plane that died mid-move, a failover mid-move): every such slot is given one owner,
  keys moved forward to it (``SlotMover.settle``), and the node timeouts set back. Until
  then keys moved to the slot's target are reachable only through ASK from its source, or not
  at all once the target failed over (the promoted replica has no IMPORTING state).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from managed_redis.engine.facts import ProcessState, Role
from managed_redis.operations.views import PERSISTENCE_ON, PERSISTENCE_ON_REPLICAS, ClusterView, HostView


class Do(StrEnum):
    COLD_START = "cold start"
    RESTART_REPLICA = "restart replica"
    RESTART_HUNG = "restart hung"
    RESTART_MASTER = "restart master"
    RESTART_MASTER_FROM_REPLICA = "restart master from a replica's snapshot"
    FENCE = "fence"
    FAILOVER = "failover"
    TAKEOVER = "takeover"
    DEMOTE = "demote"
    RESTART_SENTINEL = "restart sentinel"
    RESET_SENTINEL = "reset sentinel"
    RESTORE_FILES = "restore files"
    RECORD_MASTER = "record master"
    SET_APPENDONLY = "set appendonly"
    SET_MIN_REPLICAS = "set min-replicas-to-write"
    SETTLE_SLOTS = "settle slots"


@dataclass(frozen=True)
class Action:
    do: Do
    shard: str
    # The host acted on (the dead master for FAILOVER; None for a whole-cluster action).
    host: str | None
    reason: str
    # The other host involved: the master to follow, the replica to take over or to copy.
    other: str | None = None
    value: str | None = None
    # Act only once this has been decided continuously this long (seconds).
    grace_s: float = 0.0
    # After acting, do not act on the same key again for this long (seconds).
    cooldown_s: float = 0.0

    @property
    def key(self) -> str:
        """What identifies "the same action" across passes (for grace, cooldown, backoff)."""
        return f"{self.do}/{self.shard}/{self.host or '*'}"


# What may be done even while an operation holds the cluster: demoting a master the Sentinels
# replaced starts and stops nothing, and waiting would let it take writes that are then lost
# (say, a switchover whose control plane died between the promotion and the demotion).
SAFE_WHILE_BUSY = frozenset({Do.DEMOTE})


@dataclass(frozen=True)
class Policy:
    fence_after_s: float = 3.0
    # How long two masters must be seen, the Sentinels naming one, before the other is
    # demoted when nothing shows the named one replaced it (say, mid-failover, before the
    # Sentinels announce the promoted replica): longer than Sentinel takes to announce one.
    demote_grace_s: float = 3.0
    failover_retry_s: float = 15.0
    restart_master_after_s: float = 30.0
    sentinel_reset_after_s: float = 15.0
    # How long slots must be seen half-moved (or disputed) before they are settled: longer
    # than gossip takes to carry a new owner to every node after a failover.
    settle_slots_after_s: float = 10.0
    # The configured cluster-node-timeout: a node with another one is left from a big key's move.
    cluster_node_timeout_ms: int = 5000
    # Kinds of operation that leave processes alone: healing goes on while they run.
    heal_during: frozenset[str] = frozenset()


def decide(view: ClusterView, policy: Policy, now: dt.datetime) -> list[Action]:
    """The actions ``view`` calls for now, in the order to carry them out (pure).

    Only a RUNNING cluster is healed. One held by an operation (other than those healing
    may run beside) is left to it while its worker carries it on; once the operation is
    orphaned (its lease ran out: its control plane died), it gets the actions safe beside
    it (``SAFE_WHILE_BUSY``) until a worker resumes it.
    """
    busy = view.busy_with is not None and view.busy_with not in policy.heal_during
    if view.status not in ("RUNNING", "UPDATING") or (view.status != "RUNNING" and not busy):
        return []
    if busy and not view.busy_orphaned:
        return []
    actions = _decide(view, policy, now)
    return [action for action in actions if action.do in SAFE_WHILE_BUSY] if busy else actions


def _decide(view: ClusterView, policy: Policy, now: dt.datetime) -> list[Action]:
    if not view.hosts or not view.looked_at:
        return []
    if not any(host.redis.alive for host in view.hosts):
        return [
            Action(
                Do.COLD_START,
                "*",
                None,
                "every redis-server of the cluster is gone: start the master last named first, then the rest",
                cooldown_s=policy.fence_after_s,
            )
        ]
    actions: list[Action] = []
    for shard in view.shards:
        actions += _shard(view, shard, policy, now)
    if view.sharded:
        actions += _slot_actions(view, policy)
    return actions


def _slot_actions(view: ClusterView, policy: Policy) -> list[Action]:
    """Slots half-moved or disputed, or node timeouts left raised: settle them (see the
    module docstring). One action for the whole cluster: one owner per slot is a choice
    made across its shards."""
    answering = [host for host in view.hosts if host.redis.answered and not host.redis.loading]
    troubles = []
    opened = [host for host in answering if host.redis.open_slots]
    if opened:
        slots = sorted({slot for host in opened for slot in host.redis.open_slots})
        shown = ", ".join(str(slot) for slot in slots[:5]) + (f" and {len(slots) - 5} more" if len(slots) > 5 else "")
        troubles.append(
            f"slot(s) {shown} are open (MIGRATING/IMPORTING) on {', '.join(h.name for h in opened)} "
            "with no operation moving them: keys moved to their target are reachable only through ASK, "
            "or not at all if it failed over"
        )
    digests = {host.redis.owners_digest for host in answering if host.redis.owners_digest}
    if len(digests) > 1:
        troubles.append(f"the nodes name different owners for some slots ({len(digests)} different views)")
    stretched = [
        host.name
        for host in answering
        if host.redis.node_timeout_ms is not None and host.redis.node_timeout_ms != policy.cluster_node_timeout_ms
    ]
    if stretched:
        troubles.append(
            f"cluster-node-timeout is not {policy.cluster_node_timeout_ms} ms on {', '.join(stretched)} "
            "(left raised by a big key's move)"
        )
    if not troubles:
        return []
    return [
        Action(
            Do.SETTLE_SLOTS,
            "*",
            None,
            "; ".join(troubles) + ": give each such slot one owner, moving its keys forward, and set the "
            "node timeouts back",
            grace_s=policy.settle_slots_after_s,
            cooldown_s=policy.settle_slots_after_s,
        )
    ]


def _shard(view: ClusterView, shard: str, policy: Policy, now: dt.datetime) -> list[Action]:
    members = view.shard_hosts(shard)
    if not members:
        return []
    master = _master(view, shard)
    actions = _replaced_masters(view, shard, master, policy)
    actions += _master_actions(view, shard, master, policy, now)
    for host in members:
        if host.name != master.name:
            actions += _replica_actions(view, shard, host, master, policy, now)
    if not view.sharded:
        actions += _sentinel_actions(view, shard, master, policy)
    if master.is_master and master.name != view.recorded_masters.get(shard):
        actions.append(
            Action(Do.RECORD_MASTER, shard, master.name, f"{master.name} is the master of shard {shard} now")
        )
    actions += _role_settings(view, shard, master)
    return actions


def _master(view: ClusterView, shard: str) -> HostView:
    """Who the shard's master is: see the module docstring."""
    members = view.shard_hosts(shard)
    if not view.sharded:
        named = _named_by_sentinels(view)
        if named is not None:
            return named
    claimants = [host for host in members if host.is_master]
    recorded = view.recorded_master(shard)
    if len(claimants) == 1:
        return claimants[0]
    if recorded in claimants or not claimants:
        return recorded
    return max(claimants, key=lambda host: host.redis.offset or 0)


def _named_by_sentinels(view: ClusterView) -> HostView | None:
    by_address = {host.address: host for host in view.hosts}
    votes: dict[str, int] = {}
    for host in view.hosts:
        sentinel = host.facts.sentinel if host.facts else None
        if sentinel and sentinel.answered and sentinel.master_address in by_address:
            votes[sentinel.master_address] = votes.get(sentinel.master_address, 0) + 1
    if not votes:
        return None
    best = max(votes.values())
    leaders = [address for address, count in votes.items() if count == best]
    return by_address[leaders[0]] if len(leaders) == 1 else None


def _sentinel_majority(view: ClusterView, master: HostView) -> bool:
    """Whether more than half of all the cluster's Sentinels name ``master``."""
    naming = sum(
        1
        for host in view.hosts
        if host.facts and host.facts.sentinel and host.facts.sentinel.master_address == master.address
    )
    return naming * 2 > len(view.hosts)


def _replaced_masters(view: ClusterView, shard: str, master: HostView, policy: Policy) -> list[Action]:
    """A host claiming master beside the one the Sentinels name is made its replica: at once
    if the named master's history continues the claimant's (its replid2 is the claimant's
    replid: it was promoted in the claimant's place), else after ``demote_grace_s`` (a
    promotion the Sentinels have not announced yet looks the same for a moment)."""
    if view.sharded or not master.is_master or not _sentinel_majority(view, master):
        return []
    actions = []
    for host in view.shard_hosts(shard):
        if host.name == master.name or not host.is_master:
            continue
        replaced = master.redis.replid2 is not None and master.redis.replid2 == host.redis.replid
        actions.append(
            Action(
                Do.DEMOTE,
                shard,
                host.name,
                f"{host.name} says it is master, but the Sentinels named {master.name}"
                + (" (promoted in its place while it was away)" if replaced else "")
                + f": make it a replica of {master.name} now, so it acknowledges nothing that would be lost",
                other=master.name,
                grace_s=0.0 if replaced else policy.demote_grace_s,
            )
        )
    return actions


def _promotable(view: ClusterView, shard: str, master: HostView) -> list[HostView]:
    """Replicas that may take the master's place: answering, following it, priority not 0;
    the most advanced first."""
    candidates = [
        host
        for host in view.shard_hosts(shard)
        if host.name != master.name
        and host.redis.answered
        and host.redis.role == Role.REPLICA
        and host.redis.master_address == master.address
        and host.priority != 0
        and host.redis.replica_priority != 0
        and not host.redis.loading
    ]
    return sorted(candidates, key=lambda host: (-(host.redis.offset or 0), host.priority))


def _master_actions(view: ClusterView, shard: str, master: HostView, policy: Policy, now: dt.datetime) -> list[Action]:
    redis = master.redis
    if redis.process == ProcessState.GONE:
        return _master_gone(view, shard, master, policy, now)
    if not redis.answered:
        return _master_silent(view, shard, master, policy, now)
    if not redis.files_present:
        return [
            Action(
                Do.RESTORE_FILES,
                shard,
                master.name,
                f"the files of master {master.name} are gone while it serves: write them again from its memory",
                cooldown_s=policy.failover_retry_s,
            )
        ]
    return []


def _promote(view: ClusterView, shard: str, master: HostView, target: HostView, why: str, policy: Policy) -> Action:
    if view.sharded:
        return Action(
            Do.TAKEOVER,
            shard,
            master.name,
            f"{why}: {target.name} takes over its slots now (CLUSTER FAILOVER TAKEOVER: no vote is needed, "
            "and none is possible with fewer than 3 masters)",
            other=target.name,
            cooldown_s=policy.failover_retry_s,
        )
    return Action(
        Do.FAILOVER,
        shard,
        master.name,
        f"{why}: the Sentinels promote a replica now (they pick by priority, then offset; {target.name} "
        "is in the lead)",
        other=target.name,
        cooldown_s=policy.failover_retry_s,
    )


def _master_gone(view: ClusterView, shard: str, master: HostView, policy: Policy, now: dt.datetime) -> list[Action]:
    promotable = _promotable(view, shard, master)
    waited = master.silent_s(now)
    if promotable and waited < policy.restart_master_after_s:
        return [_promote(view, shard, master, promotable[0], f"master {master.name}'s process is gone", policy)]
    if promotable:
        why = f"master {master.name} is gone and no replica was promoted in {waited:.0f} s"
    else:
        excluded = [h.name for h in view.shard_hosts(shard) if h.name != master.name and h.redis.answered]
        why = f"master {master.name} is gone and no replica may take over" + (
            f" ({', '.join(excluded)}: priority 0 or not in sync)" if excluded else ""
        )
    return [_restart_master(view, shard, master, why, policy)]


def _restart_master(view: ClusterView, shard: str, master: HostView, why: str, policy: Policy) -> Action:
    holders = [
        host
        for host in view.shard_hosts(shard)
        if host.name != master.name and host.redis.answered and not host.redis.loading
    ]
    if view.sharded and not master.redis.files_present and holders:
        source = max(holders, key=lambda host: host.redis.offset or 0)
        why += ", and its files went with its node identity (restarted, it would be a new, empty node)"
        return _promote(view, shard, master, source, why, policy)
    if view.persistence == PERSISTENCE_ON and master.redis.files_present:
        return Action(
            Do.RESTART_MASTER,
            shard,
            master.name,
            f"{why}: restart it from its AOF, which holds every write it acknowledged",
            cooldown_s=policy.fence_after_s,
        )
    if holders:
        source = max(holders, key=lambda host: host.redis.offset or 0)
        return Action(
            Do.RESTART_MASTER_FROM_REPLICA,
            shard,
            master.name,
            f"{why}, and it kept no data on disk (persistence {view.persistence}): restart it from a snapshot "
            f"of {source.name}, which holds the data (an empty master would wipe its replicas)",
            other=source.name,
            cooldown_s=policy.failover_retry_s,
        )
    return Action(
        Do.RESTART_MASTER,
        shard,
        master.name,
        f"{why}, and no other host holds its data: restart it from what its disk holds",
        cooldown_s=policy.fence_after_s,
    )


def _master_silent(view: ClusterView, shard: str, master: HostView, policy: Policy, now: dt.datetime) -> list[Action]:
    silent = master.silent_s(now)
    promotable = [
        host
        for host in view.shard_hosts(shard)
        if host.name != master.name
        and host.redis.answered
        and host.redis.role == Role.REPLICA
        and host.redis.master_address == master.address
        and host.priority != 0
        and host.redis.replica_priority != 0
    ]
    if silent < policy.fence_after_s or not promotable:
        return []
    stopped = master.redis.process == ProcessState.STOPPED
    unheard = all(
        host.redis.link_up is False or (host.redis.master_last_io_s or 0) >= policy.fence_after_s for host in promotable
    )
    if not (stopped or unheard):
        return []  # its replicas still hear from it: the control plane may be the one cut off
    why = "stopped by a signal" if stopped else "its replicas do not hear from it either"
    fence = Action(
        Do.FENCE,
        shard,
        master.name,
        f"master {master.name} has not answered for {silent:.1f} s ({why}): fence it before a replica is "
        "promoted, so it acknowledges nothing that would be lost",
    )
    best = sorted(promotable, key=lambda host: (-(host.redis.offset or 0), host.priority))[0]
    return [fence, _promote(view, shard, master, best, f"master {master.name} is fenced", policy)]


def _replica_actions(
    view: ClusterView, shard: str, host: HostView, master: HostView, policy: Policy, now: dt.datetime
) -> list[Action]:
    redis = host.redis
    if redis.process == ProcessState.GONE:
        follow = "its nodes.conf's master" if view.sharded else master.name
        return [
            Action(
                Do.RESTART_REPLICA,
                shard,
                host.name,
                f"replica {host.name}'s process is gone: restart it as a replica of {follow}",
                other=master.name,
            )
        ]
    silent, hung_after = host.silent_s(now), 2 * policy.fence_after_s
    if redis.process == ProcessState.RUNNING and not redis.answered and silent >= hung_after:
        # A replica merely slow to answer the control plane (a busy machine) still acknowledges
        # its master every second: it is restarted only on the master's word too, or if it
        # refuses connections outright (a running Redis that does not listen: a fenced one).
        lag = master.redis.replica_lags.get(host.address)
        refused = "refused" in redis.error
        if refused or (master.redis.answered and (lag is None or lag >= hung_after)):
            heard = (
                "refuses connections"
                if refused
                else ("its master has it not streaming" if lag is None else f"its master last heard it {lag} s ago")
            )
            return [
                Action(
                    Do.RESTART_HUNG,
                    shard,
                    host.name,
                    f"{host.name}'s Redis runs but has not answered for {silent:.1f} s and {heard} (hung, or "
                    f"fenced and resumed): kill it and start it again as a replica of {master.name}",
                    other=master.name,
                    cooldown_s=policy.failover_retry_s,
                )
            ]
    if redis.answered and not redis.files_present:
        return [
            Action(
                Do.RESTORE_FILES,
                shard,
                host.name,
                f"the files of {host.name} are gone while it serves: write them again from its memory",
                other=master.name,
                cooldown_s=15.0,
            )
        ]
    return []


def _sentinel_actions(view: ClusterView, shard: str, master: HostView, policy: Policy) -> list[Action]:
    actions = []
    agreed = master.is_master and _sentinel_majority(view, master)
    for host in view.hosts:
        sentinel = host.facts.sentinel if host.facts else None
        if sentinel is None:
            continue
        if sentinel.process == ProcessState.GONE:
            actions.append(
                Action(
                    Do.RESTART_SENTINEL,
                    shard,
                    host.name,
                    f"the Sentinel on {host.name} is gone: restart it from its own config",
                    other=master.name,
                )
            )
        elif sentinel.answered and not sentinel.files_present and host.redis.files_present:
            actions.append(
                Action(
                    Do.RESET_SENTINEL,
                    shard,
                    host.name,
                    f"the config of the Sentinel on {host.name} is gone (it could not remember a failover): "
                    "restart it from a fresh config",
                    other=master.name,
                    cooldown_s=policy.sentinel_reset_after_s,
                )
            )
        elif agreed and sentinel.answered and sentinel.master_address != master.address:
            actions.append(
                Action(
                    Do.RESET_SENTINEL,
                    shard,
                    host.name,
                    f"the Sentinel on {host.name} names {sentinel.master_address or 'no master'} while its peers "
                    f"name {master.name}: restart it from a fresh config",
                    other=master.name,
                    grace_s=policy.sentinel_reset_after_s,
                    cooldown_s=policy.sentinel_reset_after_s,
                )
            )
    return actions


def _role_settings(view: ClusterView, shard: str, master: HostView) -> list[Action]:
    actions = []
    for host in view.shard_hosts(shard):
        redis = host.redis
        if not redis.answered or redis.loading:
            continue
        if view.persistence == PERSISTENCE_ON_REPLICAS and redis.aof_enabled is not None:
            wanted = redis.role == Role.REPLICA
            if redis.aof_enabled != wanted:
                actions.append(
                    Action(
                        Do.SET_APPENDONLY,
                        shard,
                        host.name,
                        f"{host.name} is a {redis.role} now and persistence is ON_REPLICAS: "
                        f"appendonly {'yes' if wanted else 'no'}",
                        other=master.name,
                        value="yes" if wanted else "no",
                    )
                )
    if view.sharded or not master.is_master:
        return actions
    linked = [
        h.name
        for h in view.shard_hosts(shard)
        if h.name != master.name and h.redis.answered and h.redis.master_address == master.address and h.redis.link_up
    ]
    wanted_min = 1 if len(linked) >= 2 else 0
    if master.redis.min_replicas is not None and master.redis.min_replicas != wanted_min:
        why = (
            f"{len(linked)} replicas are linked to master {master.name}: it refuses writes when none acknowledges "
            "them (an isolated master takes nothing it would lose)"
            if wanted_min
            else f"{len(linked)} replica(s) linked to master {master.name}: it writes without waiting for any"
        )
        actions.append(Action(Do.SET_MIN_REPLICAS, shard, master.name, why, value=str(wanted_min)))
    for host in view.shard_hosts(shard):
        replica = host.redis.answered and host.redis.role == Role.REPLICA
        if host.name != master.name and replica and (host.redis.min_replicas or 0) != 0:
            why = (
                f"replica {host.name} keeps min-replicas-to-write {host.redis.min_replicas}: it would refuse "
                "writes the moment it is promoted; set it to 0"
            )
            actions.append(Action(Do.SET_MIN_REPLICAS, shard, host.name, why, other=master.name, value="0"))
    return actions
    linked = [
        h.name
        for h in view.shard_hosts(shard)
        if h.name != master.name and h.redis.answered and h.redis.master_address == master.address and h.redis.link_up
    ]
    wanted_min = 1 if len(linked) >= 2 else 0
    if master.redis.min_replicas != wanted_min:
        why = (
            f"{len(linked)} replicas are linked to master {master.name}: it refuses writes when none acknowledges "
            "them (an isolated master takes nothing it would lose)"
            if wanted_min
            else f"{len(linked)} replica(s) linked to master {master.name}: it writes without waiting for any"
        )
        actions.append(Action(Do.SET_MIN_REPLICAS, shard, master.name, why, value=str(wanted_min)))
    return actions
