"""An in-memory ``Engine`` for unit tests of the supervisor and handlers: no process, no socket.

Each host is a ``FakeHost`` a test sets up and inspects (process state, role, whom it follows,
what its Sentinel names). Engine calls change that state the way the real engine would, and
every call is recorded in ``calls`` as ``(method, host name)``. ``fail_on`` makes a call raise
``EngineError`` for one host, to show that one broken host does not stop the others.
Control connections (``admin``) are not faked: code under unit test must not need them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from managed_redis.engine.errors import EngineError
from managed_redis.engine.facts import HostFacts, ProcessState, RedisFacts, Role, SentinelFacts
from managed_redis.engine.model import Node, Sentinel, WatchedHost


@dataclass
class FakeHost:
    address: str
    process: ProcessState = ProcessState.RUNNING
    role: Role = Role.REPLICA
    master: str | None = None  # the address it follows, as a replica
    priority: int = 100
    files_present: bool = True
    offset: int = 1000
    sentinel: ProcessState | None = ProcessState.RUNNING  # None: no Sentinel runs here
    sentinel_names: str | None = None  # the master address its Sentinel names
    sentinel_failing_over: bool = False  # its Sentinel is failing the master over on its own
    min_replicas: int = 0
    users: dict[str, str] = field(default_factory=dict)  # the customer users its users.acl holds: name -> rules


@dataclass
class FakeEngine:
    hosts: dict[str, FakeHost] = field(default_factory=dict)  # by host name
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_on: set[tuple[str, str]] = field(default_factory=set)

    # -- set-up ------------------------------------------------------------------------------

    def add(self, name: str, host: FakeHost) -> FakeHost:
        self.hosts[name] = host
        return host

    def _call(self, method: str, name: str) -> FakeHost:
        self.calls.append((method, name))
        if (method, name) in self.fail_on:
            raise EngineError(f"{method} on {name} failed (as the test asked)")
        return self.hosts[name]

    def called(self, method: str) -> list[str]:
        return [name for m, name in self.calls if m == method]

    # -- Redis hosts -------------------------------------------------------------------------

    def ensure_node(self, node: Node, timeout_s: float = 60.0) -> None:
        host = self._call("ensure_node", node.name)
        if host.process == ProcessState.GONE:
            host.process = ProcessState.RUNNING
            host.role = Role.REPLICA if node.replica_of else Role.MASTER
            host.master = node.replica_of
            host.files_present = True

    def node_running(self, node: Node) -> bool:
        return self.hosts[node.name].process != ProcessState.GONE

    def stop_node(self, node: Node, save: bool = True, timeout_s: float = 120.0) -> None:
        self._call("stop_node", node.name).process = ProcessState.GONE

    def fence(self, node: Node) -> None:
        self._call("fence", node.name).process = ProcessState.GONE

    def clear_addresses(self, hosts: Sequence[WatchedHost]) -> None:
        for host in hosts:
            self._call("clear_addresses", host.name)

    def write_node_files(self, node: Node) -> None:
        self._call("write_node_files", node.name).files_present = True

    def restore_files(self, node: Node) -> None:
        self._call("restore_files", node.name).files_present = True

    def remove_directory(self, directory: Path) -> None:
        self.calls.append(("remove_directory", directory.name))

    # -- replication ---------------------------------------------------------------------------

    def replication(self, node: Node) -> dict[str, Any]:
        host = self.hosts[node.name]
        return {"role": "master" if host.role == Role.MASTER else "slave", "master_host": host.master}

    def replicate_from(self, node: Node, master: Node | None) -> None:
        host = self._call("replicate_from", node.name)
        host.role = Role.MASTER if master is None else Role.REPLICA
        host.master = master.address if master else None

    def wait_in_sync(self, replica: Node, master: Node, timeout_s: float = 300.0) -> None:
        self._call("wait_in_sync", replica.name)

    def keyspace(self, node: Node) -> dict[str, int]:
        return {}

    def databases_in_use(self, node: Node) -> list[str]:
        return []

    # -- snapshots -----------------------------------------------------------------------------

    def rdb_path(self, node: Node) -> Path:
        return node.directory / "dump.rdb"

    def aof_manifest(self, node: Node) -> Path:
        return node.directory / "appendonlydir" / "appendonly.aof.manifest"

    def bgsave(self, node: Node, timeout_s: float = 3600.0) -> Path:
        self._call("bgsave", node.name)
        return self.rdb_path(node)

    def shares_snapshot(self, node: Node) -> bool:
        return True

    def share_snapshot(self, source: Node, target: Node) -> None:
        self._call("share_snapshot", target.name)

    def load_snapshot(self, node: Node, timeout_s: float = 3600.0) -> None:
        host = self._call("load_snapshot", node.name)
        host.process, host.role, host.master = ProcessState.RUNNING, Role.MASTER, None

    def restart_from_snapshot(
        self, before: Node, after: Node, keep_data: bool = True, timeout_s: float = 3600.0
    ) -> None:
        host = self._call("restart_from_snapshot", after.name)
        host.process, host.master = ProcessState.RUNNING, None
        host.role = Role.MASTER  # cluster mode or not, it starts unattached until told to replicate

    # -- configuration -------------------------------------------------------------------------

    def config_set(self, node: Node, pairs: Sequence[tuple[str, str]]) -> None:
        host = self._call("config_set", node.name)
        for key, value in pairs:
            if key == "min-replicas-to-write":
                host.min_replicas = int(value)

    def set_default_password(self, node: Node, password: str) -> None:
        self._call("set_default_password", node.name)

    def apply_users(self, node: Node) -> dict[str, str] | None:
        host = self._call("apply_users", node.name)
        host.users = {user.name: user.rules for user in node.users}
        if host.process == ProcessState.GONE:
            return None
        return {user.name: f"{'on' if user.enabled else 'off'} {user.rules}" for user in node.users}

    # -- Sentinels -----------------------------------------------------------------------------

    def ensure_sentinel(self, sentinel: Sentinel, fresh_config: bool = False) -> None:
        host = self._call("ensure_sentinel", sentinel.name)
        host.sentinel = ProcessState.RUNNING
        if fresh_config or host.sentinel_names is None:
            host.sentinel_names = sentinel.master_address

    def sentinel_running(self, sentinel: Sentinel) -> bool:
        return self.hosts[sentinel.name].sentinel == ProcessState.RUNNING

    def set_sentinel_auth(self, sentinel: Sentinel) -> None:
        self._call("set_sentinel_auth", sentinel.name)

    def stop_sentinel(self, sentinel: Sentinel) -> None:
        self._call("stop_sentinel", sentinel.name).sentinel = ProcessState.GONE

    def wait_quorum(self, sentinels: Sequence[Sentinel], timeout_s: float = 30.0) -> None:
        return None

    def master_seen_by(self, sentinel: Sentinel) -> str | None:
        return self.hosts[sentinel.name].sentinel_names

    def failing_over(self, sentinel: Sentinel) -> bool:
        return self.hosts[sentinel.name].sentinel_failing_over

    def request_failover(self, sentinel: Sentinel, replicas: Sequence[Node] = ()) -> None:
        """Promote the most advanced replica with priority above 0 that follows the master."""
        self._call("request_failover", sentinel.name)
        candidates = [
            (name, host)
            for name, host in self.hosts.items()
            if host.role == Role.REPLICA and host.priority != 0 and host.process == ProcessState.RUNNING
        ]
        if not candidates:
            raise EngineError("NOGOODSLAVE No suitable replica to promote")
        _, chosen = max(candidates, key=lambda item: item[1].offset)
        chosen.role, chosen.master = Role.MASTER, None
        for host in self.hosts.values():
            if host is not chosen and host.process == ProcessState.RUNNING and host.role == Role.REPLICA:
                host.master = chosen.address
            if host.sentinel == ProcessState.RUNNING:
                host.sentinel_names = chosen.address

    # -- observation ---------------------------------------------------------------------------

    def observe(
        self, hosts: Sequence[WatchedHost], timeout_s: float = 1.0, keep_connections: bool = False
    ) -> dict[str, HostFacts]:
        found = {}
        for watched in hosts:
            host = self.hosts[watched.name]
            redis = self._redis_facts(host)
            if watched.ping_only and redis.answered:  # a PING says it answers, nothing more
                redis = RedisFacts(ProcessState.RUNNING, answered=True, files_present=host.files_present)
            found[watched.name] = HostFacts(redis, self._sentinel_facts(host, watched))
        return found

    def _redis_facts(self, host: FakeHost) -> RedisFacts:
        if host.process != ProcessState.RUNNING:
            return RedisFacts(host.process, files_present=host.files_present)
        replica = host.role == Role.REPLICA
        master = self._by_address(host.master) if replica and host.master else None
        link_up = master is not None and master.process == ProcessState.RUNNING and master.role == Role.MASTER
        return RedisFacts(
            ProcessState.RUNNING,
            answered=True,
            files_present=host.files_present,
            role=host.role,
            master_address=host.master if replica else None,
            link_up=link_up if replica else None,
            master_last_io_s=(0 if link_up else -1) if replica else None,
            offset=host.offset,
            replica_priority=host.priority,
            min_replicas=host.min_replicas,
            replica_lags={} if replica else self._lags(host),
        )

    def _lags(self, master: FakeHost) -> dict[str, int]:
        """What a master hears of the replicas streaming from it (all keep up, here)."""
        return {
            host.address: 0
            for host in self.hosts.values()
            if host.master == master.address and host.process == ProcessState.RUNNING
        }

    @staticmethod
    def _sentinel_facts(host: FakeHost, watched: WatchedHost) -> SentinelFacts | None:
        if not watched.asks_sentinel or host.sentinel is None:
            return None
        if host.sentinel != ProcessState.RUNNING:
            return SentinelFacts(host.sentinel)
        return SentinelFacts(ProcessState.RUNNING, answered=True, master_address=host.sentinel_names)

    def _by_address(self, address: str) -> FakeHost | None:
        return next((host for host in self.hosts.values() if host.address == address), None)

    def wait_for_exit(self, timeout_s: float) -> list[str]:
        return []

    # -- control connections -------------------------------------------------------------------

    def admin(self, node: Node) -> redis.Redis:
        raise NotImplementedError("the fake engine speaks no Redis protocol")

    def sentinel_admin(self, sentinel: Sentinel) -> redis.Redis:
        raise NotImplementedError("the fake engine speaks no Redis protocol")
