"""A data plane that does nothing, for the control-plane throughput bench only (never
reachable from the product's settings: ``bench/stub_serve.py`` puts it in place of the engine).

Every call succeeds at once and starts nothing. Each host is a lone master that answers, its
Sentinel naming it: what a healthy one-host cluster looks like, so the supervisor finds
nothing to do and the handlers of Create, Update and Delete run their steps through.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis

from managed_redis.engine.facts import HostFacts, ProcessState, RedisFacts, Role, SentinelFacts
from managed_redis.engine.model import Node, Sentinel, WatchedHost


class StubEngine:
    """The ``Engine`` protocol (``engine/base.py``), each call a no-op or a healthy answer."""

    # -- Redis hosts: nothing to start or stop -----------------------------------------------

    def ensure_node(self, node: Node, timeout_s: float = 60.0) -> None:
        return None

    def node_running(self, node: Node) -> bool:
        return True

    def stop_node(self, node: Node, save: bool = True, timeout_s: float = 120.0) -> None:
        return None

    def fence(self, node: Node) -> None:
        return None

    def clear_addresses(self, hosts: Sequence[WatchedHost]) -> None:
        return None

    def write_node_files(self, node: Node) -> None:
        return None

    def restore_files(self, node: Node) -> None:
        return None

    def remove_directory(self, directory: Path) -> None:
        return None

    # -- replication: every host a master ----------------------------------------------------

    def replication(self, node: Node) -> dict[str, Any]:
        return {"role": "master"}

    def replicate_from(self, node: Node, master: Node | None) -> None:
        return None

    def wait_in_sync(self, replica: Node, master: Node, timeout_s: float = 300.0) -> None:
        return None

    def keyspace(self, node: Node) -> dict[str, int]:
        return {}

    def databases_in_use(self, node: Node) -> list[str]:
        return []

    # -- snapshots ---------------------------------------------------------------------------

    def rdb_path(self, node: Node) -> Path:
        return node.directory / "dump.rdb"

    def aof_manifest(self, node: Node) -> Path:
        return node.directory / "appendonlydir" / "appendonly.aof.manifest"

    def bgsave(self, node: Node, timeout_s: float = 3600.0) -> Path:
        return self.rdb_path(node)

    def shares_snapshot(self, node: Node) -> bool:
        return True

    def share_snapshot(self, source: Node, target: Node) -> None:
        return None

    def load_snapshot(self, node: Node, timeout_s: float = 3600.0) -> None:
        return None

    def restart_from_snapshot(
        self, before: Node, after: Node, keep_data: bool = True, timeout_s: float = 3600.0
    ) -> None:
        return None

    # -- configuration -----------------------------------------------------------------------

    def config_set(self, node: Node, pairs: Sequence[tuple[str, str]]) -> None:
        return None

    def set_default_password(self, node: Node, password: str) -> None:
        return None

    def apply_users(self, node: Node) -> dict[str, str] | None:
        return {user.name: f"{'on' if user.enabled else 'off'} {user.rules}" for user in node.users}

    # -- Sentinels: each names its own host --------------------------------------------------

    def ensure_sentinel(self, sentinel: Sentinel, fresh_config: bool = False) -> None:
        return None

    def sentinel_running(self, sentinel: Sentinel) -> bool:
        return True

    def set_sentinel_auth(self, sentinel: Sentinel) -> None:
        return None

    def stop_sentinel(self, sentinel: Sentinel) -> None:
        return None

    def wait_quorum(self, sentinels: Sequence[Sentinel], timeout_s: float = 30.0) -> None:
        return None

    def master_seen_by(self, sentinel: Sentinel) -> str | None:
        return sentinel.master_address

    def failing_over(self, sentinel: Sentinel) -> bool:
        return False

    def request_failover(self, sentinel: Sentinel, replicas: Sequence[Node] = ()) -> None:
        return None

    # -- observation -------------------------------------------------------------------------

    def observe(
        self, hosts: Sequence[WatchedHost], timeout_s: float = 1.0, keep_connections: bool = False
    ) -> dict[str, HostFacts]:
        found = {}
        for host in hosts:
            redis_facts = RedisFacts(ProcessState.RUNNING, answered=True, role=Role.MASTER, offset=0)
            sentinel = None
            if host.asks_sentinel:
                sentinel = SentinelFacts(ProcessState.RUNNING, answered=True, master_address=host.address)
            found[host.name] = HostFacts(redis_facts, sentinel)
        return found

    def wait_for_exit(self, timeout_s: float) -> list[str]:
        time.sleep(timeout_s)  # no process ever exits; the supervisor passes once a period
        return []

    def admin(self, node: Node) -> redis.Redis:
        raise NotImplementedError("the stub engine speaks no Redis protocol")

    def sentinel_admin(self, sentinel: Sentinel) -> redis.Redis:
        raise NotImplementedError("the stub engine speaks no Redis protocol")
