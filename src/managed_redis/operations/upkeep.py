"""The supervisor's decisions that keep a serving shard as declared (part of ``decide``, see
``decisions.py``'s docstring): Sentinels gone, without their config or naming another master;
settings that follow roles (persistence ON_REPLICAS, min-replicas-to-write, a catching-up
replica's priority); users a host missed. Pure functions of a ``ClusterView``."""

from __future__ import annotations

from managed_redis.engine.facts import ProcessState, Role
from managed_redis.operations.actions import Action, Do, Policy
from managed_redis.operations.views import PERSISTENCE_ON_REPLICAS, ClusterView, HostView


def sentinel_majority(view: ClusterView, master: HostView) -> bool:
    """Whether more than half of all the cluster's Sentinels name ``master``."""
    naming = sum(
        1
        for host in view.hosts
        if host.facts and host.facts.sentinel and host.facts.sentinel.master_address == master.address
    )
    return naming * 2 > len(view.hosts)


def users_actions(view: ClusterView) -> list[Action]:
    """A host marked as holding old users that answers (not loading): give it the declared ones."""
    return [
        Action(
            Do.APPLY_USERS,
            host.shard,
            host.name,
            f"{host.name} was running but did not answer when the users changed, and answers now: "
            "give it the declared users",
        )
        for host in view.hosts
        if host.name in view.users_pending and host.redis.answered and not host.redis.loading
    ]


def sentinel_actions(view: ClusterView, shard: str, master: HostView, policy: Policy) -> list[Action]:
    actions = []
    agreed = master.is_master and sentinel_majority(view, master)
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


def role_settings(view: ClusterView, shard: str, master: HostView) -> list[Action]:
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
    if view.sharded:
        return actions
    actions += _sync_priorities(view, shard, master)
    if not master.is_master:
        return actions
    linked = [
        h.name
        for h in view.shard_hosts(shard)
        if h.name != master.name and h.redis.answered and h.redis.master_address == master.address and h.redis.link_up
    ]
    # While any replica is linked, the master refuses writes once none acknowledges them: a
    # master frozen or cut off takes nothing a promotion would throw away, even while no
    # control plane is there to fence it. With none linked it writes alone (else it would
    # refuse every write); operations that stop its only replica lift the guard first.
    wanted_min = 1 if linked else 0
    if master.redis.min_replicas is not None and master.redis.min_replicas != wanted_min:
        why = (
            f"{len(linked)} replica(s) linked to master {master.name}: it refuses writes when none acknowledges "
            "them (a master frozen or cut off takes nothing it would lose)"
            if wanted_min
            else f"no replica is linked to master {master.name}: it writes without waiting for one"
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


def _sync_priorities(view: ClusterView, shard: str, master: HostView) -> list[Action]:
    """A Sentinel picks a replica by priority, then offset, and counts one whose link never
    came up as in step (it reads ``master_link_down_since_seconds:-1`` as not down): if the
    master died while its only replica was still syncing, it would promote that replica and
    every write the master held would go. So a replica syncing, loading, or never linked
    since it started has ``replica-priority 0`` until it is in step, then its declared one."""
    actions = []
    for host in view.shard_hosts(shard):
        redis = host.redis
        if host.name == master.name or not redis.answered or redis.role != Role.REPLICA:
            continue
        behind = redis.syncing or redis.loading or (redis.link_up is False and redis.link_down_s == -1)
        wanted = 0 if behind else host.priority
        if redis.replica_priority is None or redis.replica_priority == wanted:
            continue
        why = (
            f"replica {host.name} has not caught up with master {master.name} since it started (syncing or "
            "never linked): replica-priority 0 until it has, so no Sentinel promotes it over the master's writes"
            if behind
            else f"replica {host.name} is in step with master {master.name} again: its declared replica-priority"
        )
        actions.append(Action(Do.SET_REPLICA_PRIORITY, shard, host.name, why, other=master.name, value=str(wanted)))
    return actions
