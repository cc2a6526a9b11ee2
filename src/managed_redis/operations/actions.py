"""What the supervisor may do about a cluster (``Do``), one decision of it (``Action``: what,
on which host, why, with its grace and cooldown), and the timings it decides by (``Policy``).
Plain values: ``decisions.py`` makes them, ``healing.py`` carries them out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
    SET_REPLICA_PRIORITY = "set replica-priority"
    SETTLE_SLOTS = "settle slots"
    APPLY_USERS = "apply users"


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
