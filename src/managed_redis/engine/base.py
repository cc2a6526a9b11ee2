"""The contract of an engine: what runs Redis hosts and Sentinels, and how long each call may take.

Operation handlers and the supervisor speak to the data plane only through this protocol.
``LocalEngine`` (processes on this machine) is one implementation; tests have a fake of it
(``tests/support/fake_engine.py``) for decisions and handlers, and a second engine (say,
Kubernetes) plugs in here.

Rules every implementation keeps:

- Inputs are plain values (``Node``, ``Sentinel``, ``WatchedHost``): never protobufs, rows,
  or requests.
- ``ensure_*`` calls adopt what already runs and start only what does not, so an operation
  step can run again after a crash.
- Every call returns or raises within the time its docstring names; none retries forever.
- A data-plane failure raises ``EngineError`` with a message naming the host and what
  happened; a call that is one Redis command lets that command's ``redis.RedisError``
  through; files that cannot be written are ``OSError``. Each call's docstring ends with
  what it raises. ``observe`` never raises for a host's own fault, it reports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import redis

from managed_redis.engine.facts import HostFacts
from managed_redis.engine.model import Node, Sentinel, WatchedHost


class Engine(Protocol):
    # -- Redis hosts -------------------------------------------------------------------------

    def ensure_node(self, node: Node, timeout_s: float = ...) -> None:
        """Start ``node`` unless it runs; return once it answers (at most ``timeout_s``, which
        includes loading its data), with its AOF on if it is meant to keep one.
        Raises EngineError if the process does not start, exits while starting, refuses the
        control plane's credentials or does not answer in time; redis.RedisError if it answers
        but refuses to set up its users or its AOF; OSError if its files cannot be written."""

    def node_running(self, node: Node) -> bool:
        """Whether ``node``'s process is alive (answering or not). Quick: no network.
        Never raises."""

    def stop_node(self, node: Node, save: bool = True, timeout_s: float = ...) -> None:
        """Shut ``node`` down, saving a snapshot first when ``save``; return once it is gone
        (at most ``timeout_s`` plus a kill).
        Never raises for Redis's own refusal: a host that keeps refusing SHUTDOWN is killed."""

    def fence(self, node: Node) -> None:
        """Make sure ``node`` acknowledges nothing more, at once and whatever state it is in
        (stopped, hung, partitioned): afterwards its process is gone. At most ~10 s.
        Raises EngineError if the process survives SIGKILL."""

    def clear_addresses(self, hosts: Sequence[WatchedHost]) -> None:
        """Kill anything left serving the ``hosts``' addresses and remove their directories,
        so new hosts start clean there (one /proc pass, plus ~10 s per process killed).
        Never raises for what it finds: a process that will not die is left, a directory that
        cannot go is kept."""

    def write_node_files(self, node: Node) -> None:
        """Write ``node``'s config and users where a restart reads them.
        Raises OSError if they cannot be written."""

    def restore_files(self, node: Node) -> None:
        """Give a running ``node`` whose files are gone its config, users and data files
        back from its memory, without a restart.
        Raises EngineError if ``node`` is not running or Redis refuses to write its files;
        OSError if a file cannot be written."""

    def remove_directory(self, directory: Path) -> None:
        """Remove a host's directory and everything in it; no error if it is not there.
        Never raises."""

    # -- replication ---------------------------------------------------------------------------

    def replication(self, node: Node) -> dict[str, Any]:
        """``INFO replication`` of ``node`` (one command, a few seconds at most).
        Raises redis.RedisError if ``node`` cannot be asked."""

    def replicate_from(self, node: Node, master: Node | None) -> None:
        """``REPLICAOF`` ``master`` (None: become a master).
        Raises redis.RedisError if ``node`` cannot be asked or refuses."""

    def wait_in_sync(self, replica: Node, master: Node, timeout_s: float = ...) -> None:
        """Return once ``replica`` is linked to ``master`` and caught up (at most ``timeout_s``).
        Raises EngineError if it has not caught up by then; redis.RedisError if either cannot be
        asked."""

    def keyspace(self, node: Node) -> dict[str, int]:
        """Keys per database (``db0`` -> count).
        Raises redis.RedisError if ``node`` cannot be asked."""

    def databases_in_use(self, node: Node) -> list[str]:
        """The databases (``db0``, ``db5``, ...) holding a key that has not expired, in order
        (keys whose time has passed are not counted, reclaimed or not).
        Raises redis.RedisError if ``node`` cannot be asked."""

    # -- snapshots -----------------------------------------------------------------------------

    def rdb_path(self, node: Node) -> Path:
        """Where ``node`` keeps its RDB snapshot.
        Never raises (no I/O)."""

    def aof_manifest(self, node: Node) -> Path:
        """The file whose presence says ``node`` has a complete AOF.
        Never raises (no I/O)."""

    def bgsave(self, node: Node, timeout_s: float = ...) -> Path:
        """Have ``node`` write a fresh snapshot; return its path once complete.
        Raises EngineError if the save fails or does not finish within ``timeout_s``;
        redis.RedisError if ``node`` cannot be asked."""

    def shares_snapshot(self, node: Node) -> bool:
        """Whether ``node``'s snapshot records its replication position.
        Never raises: an unreadable or foreign file is False."""

    def share_snapshot(self, source: Node, target: Node) -> None:
        """Put ``source``'s snapshot where ``target`` starts from.
        Raises OSError if ``source`` has no snapshot or it cannot be linked or copied."""

    def load_snapshot(self, node: Node, timeout_s: float = ...) -> None:
        """Start ``node`` (not running) from the snapshot placed in its directory.
        Raises EngineError if ``node`` already runs, or as ``ensure_node`` does."""

    def restart_from_snapshot(self, before: Node, after: Node, keep_data: bool = True, timeout_s: float = ...) -> None:
        """Restart a host into another mode or version (``before`` -> ``after``) from a fresh
        snapshot of its memory taken as it stops, never from a log whose commands the new
        mode or version may read differently; ``after`` keeps an AOF if it asks for one, a
        new one based on what it loaded. Every write acknowledged before is kept, none is
        acknowledged between the snapshot and the restart. Without ``keep_data`` (a replica)
        the host restarts empty, to copy its master. At most ``timeout_s`` to save and as long
        to load. Raises EngineError if the snapshot could not be taken (the host runs on as
        ``before``, unchanged) or ``after`` did not start."""

    # -- configuration -------------------------------------------------------------------------

    def config_set(self, node: Node, pairs: Sequence[tuple[str, str]]) -> None:
        """Apply directives live and to the file a restart reads.
        Raises redis.RedisError if Redis refuses a directive or cannot be asked; OSError if the
        file cannot be written."""

    def set_default_password(self, node: Node, password: str) -> None:
        """Change the customer's password live, dropping no connection.
        Raises redis.RedisError if ``node`` cannot be asked or refuses."""

    def apply_users(self, node: Node) -> dict[str, str] | None:
        """Make ``node`` hold exactly its declared customer users (``node.users``) beside
        ``default`` and the control plane's user, which keep their passwords. First its
        ``users.acl`` is rewritten (so a host that is down, or does not answer, gets them
        when it starts); then, if it runs, live: each user set anew (a changed password or
        permission takes effect at once and its connections stay), a disabled user's
        connections closed, any other user removed (its connections closed), the ACL saved.
        Returns what the node now holds of each declared user (name -> its ``ACL LIST``
        line less ``user <name>``), or None if the node is not running. A few commands: at
        most the control connection's timeouts.
        Raises redis.RedisError if a running node cannot be asked or refuses; OSError if
        ``users.acl`` cannot be written."""

    # -- Sentinels -----------------------------------------------------------------------------

    def ensure_sentinel(self, sentinel: Sentinel, fresh_config: bool = False) -> None:
        """Start ``sentinel`` unless it runs; return once it answers (at most ~60 s).
        Raises EngineError if it does not start or does not answer in time; OSError if its
        config cannot be written."""

    def sentinel_running(self, sentinel: Sentinel) -> bool:
        """Whether the Sentinel's process is alive. Quick: no network.
        Never raises."""

    def set_sentinel_auth(self, sentinel: Sentinel) -> None:
        """Make ``sentinel``'s ``default`` user need the cluster password if ``sentinel.auth``,
        else none: live if it runs, and in the config it starts from.
        Raises redis.RedisError if a running Sentinel cannot be asked or refuses; OSError if its
        config cannot be rewritten."""

    def stop_sentinel(self, sentinel: Sentinel) -> None:
        """Stop the Sentinel; return once it is gone (at most ~20 s).
        Never raises."""

    def wait_quorum(self, sentinels: Sequence[Sentinel], timeout_s: float = ...) -> None:
        """Return once every Sentinel can reach its quorum (at most ``timeout_s``).
        Raises EngineError naming the first Sentinel without a quorum by then."""

    def master_seen_by(self, sentinel: Sentinel) -> str | None:
        """The master address ``sentinel`` names, or None if it cannot be asked.
        Never raises."""

    def failing_over(self, sentinel: Sentinel) -> bool:
        """Whether ``sentinel`` is failing its master over now (electing a leader, or the
        leader promoting a replica); False if it cannot be asked. Never raises."""

    def request_failover(self, sentinel: Sentinel, replicas: Sequence[Node] = ()) -> None:
        """Ask ``sentinel`` to fail its master over now; it picks the replica (priority, then
        the offset it knows). With ``replicas`` (of a master that is gone), first let it know
        their offsets as they are, so that it picks the most advanced (at most a few seconds).
        Raises EngineError if it refuses (no good replica, a failover in progress) or cannot be
        asked."""

    # -- observation ---------------------------------------------------------------------------

    def observe(
        self, hosts: Sequence[WatchedHost], timeout_s: float = ..., keep_connections: bool = False
    ) -> dict[str, HostFacts]:
        """One look at every host at once (at most ``timeout_s``): host name -> facts.
        A host's Sentinel is asked only where ``WatchedHost.asks_sentinel`` (else its facts'
        ``sentinel`` is None). ``keep_connections`` keeps what it opened for the next look."""

    def wait_for_exit(self, timeout_s: float) -> list[str]:
        """Sleep until a watched process exits (or ``timeout_s``); which ones did.
        Never raises."""

    # -- control connections -------------------------------------------------------------------

    def admin(self, node: Node) -> redis.Redis:
        """A control connection to ``node`` as the control plane's user, for the protocols
        built on Redis commands (switchover, Redis Cluster). Commands time out in seconds.
        Opens nothing yet: its commands raise redis.RedisError when ``node`` cannot be asked or
        refuses."""

    def sentinel_admin(self, sentinel: Sentinel) -> redis.Redis:
        """A control connection to ``sentinel`` as the control plane's user.
        Opens nothing yet: its commands raise redis.RedisError when the Sentinel cannot be asked
        or refuses."""
