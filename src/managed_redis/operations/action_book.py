"""When the supervisor may carry out each action it decided, across passes.

Decisions are pure and made afresh each pass; the timing that spans passes lives here: an
action with a grace runs only once it has been decided for that long without a break, one
that succeeded is not repeated within its cooldown, and one that failed waits a backoff that
doubles with each failure in a row (1, 2, 4, ... up to ``MAX_BACKOFF_S``). A promotion never
runs while the fencing that must precede it is held back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from managed_redis.operations.decisions import Action, Do

MAX_BACKOFF_S = 60.0
_PROMOTIONS = (Do.FAILOVER, Do.TAKEOVER)


@dataclass
class ActionBook:
    """When each action (by cluster and key) may run: after its grace, outside its cooldown,
    and after a backoff that doubles with each failure (up to ``MAX_BACKOFF_S``)."""

    first_seen: dict[str, dt.datetime] = field(default_factory=dict)
    not_before: dict[str, dt.datetime] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def due(self, cluster_id: str, actions: list[Action], now: dt.datetime) -> list[Action]:
        """The actions to carry out now. A promotion whose fencing is not due waits with it."""
        keys = {f"{cluster_id}/{action.key}" for action in actions}
        for key in [k for k in self.first_seen if k.startswith(f"{cluster_id}/") and k not in keys]:
            del self.first_seen[key]
        due, held_shards = [], set()
        for action in actions:
            key = f"{cluster_id}/{action.key}"
            first = self.first_seen.setdefault(key, now)
            ready = (now - first).total_seconds() >= action.grace_s and now >= self.not_before.get(key, first)
            if ready and not (action.do in _PROMOTIONS and action.shard in held_shards):
                due.append(action)
            elif action.do == Do.FENCE:
                held_shards.add(action.shard)
        return due

    def pending(self, cluster_id: str) -> bool:
        """Whether some action of the cluster was decided and waits (grace, cooldown, backoff)."""
        prefix = f"{cluster_id}/"
        return any(key.startswith(prefix) for key in self.first_seen)

    def succeeded(self, cluster_id: str, action: Action, now: dt.datetime) -> None:
        key = f"{cluster_id}/{action.key}"
        self.failures.pop(key, None)
        self.not_before[key] = now + dt.timedelta(seconds=action.cooldown_s)

    def failed(self, cluster_id: str, action: Action, now: dt.datetime) -> int:
        """Book a failure; returns how many in a row."""
        key = f"{cluster_id}/{action.key}"
        count = self.failures[key] = self.failures.get(key, 0) + 1
        backoff = min(MAX_BACKOFF_S, 2.0 ** (count - 1))
        self.not_before[key] = now + dt.timedelta(seconds=max(backoff, action.cooldown_s))
        return count
