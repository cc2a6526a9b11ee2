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
- **In step.** Only a replica that was streaming from the master when it last answered may
  take its place: its link up, or down no earlier than the master fell silent, and no full
  sync under way. One that was not (restarted and still syncing, cut off before) lacks
  writes the master acknowledged; the master (frozen, blocked by a script, or its AOF on
  disk) is waited for or restarted instead.
- **Master gone** (its process exited): a replica that may be promoted (priority not 0,
  following that master, in step) takes over at once: ``SENTINEL FAILOVER``, or ``CLUSTER FAILOVER
  TAKEOVER`` (no vote needed: the process is certainly dead, which also makes a Redis
  Cluster of fewer than 3 masters fail over). Once another host answers as master (promoted,
  the Sentinels not saying so yet), the gone one is restarted as its replica, never as a
  master. With no such replica, or when no new master
  appeared within ``restart_master_after_s``, the master is restarted from its data: its
  AOF if it keeps one; else a snapshot of the replica holding the data (an empty master
  would wipe its replicas); else what its disk holds.
- **Master silent** (alive, not answering) for ``fence_after_s`` while it is stopped by a
  signal or its replicas hear nothing from it either: it is fenced before a replica is
  promoted (``Engine.fence``), so it acknowledges nothing that would be lost; then as above.
  A takeover records its new master at once (silent right after, it is still the one).
- **Master replaced** (a host says it is master while the Sentinels name another that
  answers as master): it is made a replica of that one, at once when the named one was
  promoted in its place (replication ids say so), else after ``demote_grace_s``; even on a
  cluster an operation holds, once that operation is orphaned (its control plane died).
- **Replicas and Sentinels** whose process is gone are restarted (a replica following the
  master); a replica that runs but has answered neither the control plane nor its master for
  twice ``fence_after_s`` (hung, or a fenced master that was resumed) is killed and started
  again. Sharded, neither happens while the shard's master is silent: from its nodes.conf a
  replaced master would come back a master, and nothing would tell it otherwise before
  Redis's 2 s writable delay ends. A Sentinel naming another master
  than its peers for ``sentinel_reset_after_s`` is restarted from a fresh config; a host
  whose files are gone while it serves gets them back.
- **Settings that follow roles**: persistence ON_REPLICAS keeps an AOF on replicas only; a
  master with a replica linked refuses writes when none acknowledges for
  ``min-replicas-max-lag`` (bounding what a master isolated, or frozen while no control
  plane runs, can take and then lose); with none linked, that bound is lifted (it would
  refuse every write; operations stopping a shard's only replica lift it first); a replica keeps
  none (a switchover's fence left on one would stop writes once it is promoted); a replica
  syncing, loading or never linked since it started has ``replica-priority 0`` until it is
  in step (a Sentinel counts a never-linked replica as in step), then its declared one.
  (``upkeep.py``.)
- **Users missed**: a host that was running but silent when the users changed (marked by
  the user handler) is given the declared users once it answers again.
- **Every process gone**: a cold start, beginning with the master the Sentinels last wrote down.
- **Slots half-moved** (sharded): a node has a slot MIGRATING or IMPORTING, the nodes name
  different owners for a slot, or a node's cluster-node-timeout is still raised for a big
  key's move, seen for ``settle_slots_after_s`` with no operation carrying a move on (a
  control plane that died mid-move, a failover mid-move): every such slot is given one owner,
  keys moved forward to it (``SlotMover.settle``), and the node timeouts set back. Until
  then keys moved to the slot's target are reachable only through ASK from its source, or not
  at all once the target failed over (the promoted replica has no IMPORTING state). Never
  while a live node is silent: a failover's claim spreads by gossip for seconds, and
  settling beside it races it. (``slot_decisions.py``.)
"""

from __future__ import annotations

import datetime as dt
import math

from managed_redis.engine.facts import ProcessState, Role
from managed_redis.operations.actions import SAFE_WHILE_BUSY, Action, Do, Policy
from managed_redis.operations.slot_decisions import slot_actions
from managed_redis.operations.upkeep import role_settings, sentinel_actions, sentinel_majority, users_actions
from managed_redis.operations.views import PERSISTENCE_ON, ClusterView, HostView

__all__ = ["SAFE_WHILE_BUSY", "Action", "Do", "Policy", "decide"]


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
    actions += users_actions(view)
    if view.sharded:
        actions += slot_actions(view, policy)
    return actions


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
        actions += sentinel_actions(view, shard, master, policy)
    if master.is_master and master.name != view.recorded_masters.get(shard):
        actions.append(
            Action(Do.RECORD_MASTER, shard, master.name, f"{master.name} is the master of shard {shard} now")
        )
    actions += role_settings(view, shard, master)
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


def _replaced_masters(view: ClusterView, shard: str, master: HostView, policy: Policy) -> list[Action]:
    """A host claiming master beside the one the Sentinels name is made its replica: at once
    if the named master's history continues the claimant's (its replid2 is the claimant's
    replid: it was promoted in the claimant's place), else after ``demote_grace_s`` (a
    promotion the Sentinels have not announced yet looks the same for a moment)."""
    if view.sharded or not master.is_master or not sentinel_majority(view, master):
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


def _promotable(view: ClusterView, shard: str, master: HostView, now: dt.datetime) -> list[HostView]:
    """Replicas that may take the master's place: answering, following it and in step with it
    (``_in_step``), priority not 0; the most advanced first."""
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
        and _in_step(host, master, now)
    ]
    return sorted(candidates, key=lambda host: (-(host.redis.offset or 0), host.priority))


def _in_step(replica: HostView, master: HostView, now: dt.datetime) -> bool:
    """Whether ``replica`` was streaming from ``master`` when the master last answered: its
    link is up, or went down no earlier than the master fell silent, with no full sync under
    way. A replica that was not (restarted and still syncing, or cut off before) lacks writes
    the master acknowledged: promoted, it would lose them, while the master (frozen, blocked by
    a script, or its AOF on disk) still holds them."""
    redis = replica.redis
    if redis.syncing:
        return False
    if redis.link_up:
        return True
    down_s = redis.link_down_s
    # Whole seconds on both sides: one second of slack.
    return down_s is not None and 0 <= down_s <= master.silent_s(now) + 1


def _successor(view: ClusterView, shard: str, master: HostView) -> HostView | None:
    """The one other host of the shard that answers as master once the master's process is
    gone: the replica just promoted in its place (by a failover this supervisor asked for,
    or by Sentinel), before the Sentinels name it."""
    claimants = [
        host for host in view.shard_hosts(shard) if host.name != master.name and host.redis.answered and host.is_master
    ]
    return claimants[0] if len(claimants) == 1 else None


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
            f"{why}: {target.name} takes over its slots now (CLUSTER FAILOVER TAKEOVER: "
            + (
                "no vote is needed, and none is possible with fewer than 3 masters)"
                if len(view.shards) < 3
                else "no vote is waited for, the master being certainly out of the way)"
            ),
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
    successor = _successor(view, shard, master)
    if successor is not None:
        return [
            Action(
                Do.RESTART_REPLICA,
                shard,
                master.name,
                f"master {master.name}'s process is gone and {successor.name} was promoted in its place (the "
                f"Sentinels have not said so yet): restart it as a replica of {successor.name} (as a master it "
                "would take writes that are lost once it is demoted)",
                other=successor.name,
            )
        ]
    promotable = _promotable(view, shard, master, now)
    waited = master.silent_s(now)
    if promotable and waited < policy.restart_master_after_s:
        return [_promote(view, shard, master, promotable[0], f"master {master.name}'s process is gone", policy)]
    if promotable:
        since = f"in {waited:.0f} s" if math.isfinite(waited) else "(it never answered the control plane)"
        why = f"master {master.name} is gone and no replica was promoted {since}"
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
    promotable = _promotable(view, shard, master, now)
    if silent < policy.fence_after_s or not promotable:
        # No replica in step: the master, frozen or blocked, still holds every write it
        # acknowledged; it is waited for rather than replaced by one that lacks them.
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
    if view.sharded and not master.redis.answered and redis.process != ProcessState.RUNNING:
        # Its nodes.conf may still name it the master (the one just replaced): restarted while
        # its shard's master is silent, nothing would tell it otherwise, and after Redis's 2 s
        # writable delay it would take writes that are lost once it hears the master again.
        return []
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
        if view.sharded and not master.redis.answered:
            return []  # as above: a restart from its nodes.conf waits until the master answers
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
