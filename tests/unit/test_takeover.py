"""``RedisClusterOps.takeover`` on a stand-in engine: the caller hears the takeover was
accepted before the replica is asked whether it is master, and a BUSY answer (a client's
script blocking the new master) is waited through rather than taken for a failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

from managed_redis.engine.cluster_mode import RedisClusterOps
from managed_redis.engine.errors import EngineError
from managed_redis.engine.model import Credentials, Node

NODE = Node("h2", "10.0.0.2", Path("/nonexistent"), "redis-server", Credentials("p", "a"), cluster_mode=True)


class Replica:
    """Answers TAKEOVER (or refuses it), then BUSY ``busy`` times before saying master."""

    def __init__(self, busy: int, refuses: bool = False) -> None:
        self.busy, self.refuses = busy, refuses
        self.events: list[str] = []

    # The engine's side.
    def admin(self, node: Node) -> Replica:
        return self

    def replication(self, node: Node) -> dict[str, Any]:
        self.events.append("asked")
        if self.busy:
            self.busy -= 1
            raise redis.ResponseError("BUSY Redis is busy running a script or a function")
        return {"role": "master"}

    # The admin client's side.
    def execute_command(self, *args: object) -> str:
        if self.refuses:
            raise redis.ResponseError("ERR You should send CLUSTER FAILOVER to a replica")
        self.events.append("takeover")
        return "OK"


def test_accepted_is_heard_before_the_replica_is_asked_and_busy_answers_are_waited_through() -> None:
    replica = Replica(busy=3)
    RedisClusterOps(replica).takeover(NODE, accepted=lambda: replica.events.append("recorded"))  # type: ignore[arg-type]
    assert replica.events == ["takeover", "recorded", "asked", "asked", "asked", "asked"]


def test_a_refused_takeover_is_never_recorded() -> None:
    replica = Replica(busy=0, refuses=True)
    with pytest.raises(EngineError, match="refused to take over"):
        RedisClusterOps(replica).takeover(NODE, accepted=lambda: replica.events.append("recorded"))  # type: ignore[arg-type]
    assert replica.events == []


def test_a_replica_busy_past_the_timeout_raises_after_it_was_recorded() -> None:
    replica = Replica(busy=1_000_000)
    with pytest.raises(EngineError, match="did not become master"):
        RedisClusterOps(replica).takeover(NODE, timeout_s=0.1, accepted=lambda: replica.events.append("recorded"))  # type: ignore[arg-type]
    assert replica.events[:2] == ["takeover", "recorded"]
