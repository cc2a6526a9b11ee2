"""The local engine: Redis hosts and Sentinels as processes on this machine.

Every ``ensure_*`` call adopts what already runs and starts only what does not, so an
operation step can run twice. Files per host live in its directory:
``redis.conf``, ``users.acl``, ``sentinel.conf``, the data, the logs and the pidfiles.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import redis

from managed_redis.engine import conf, process, rdb_header, snapshot_restart
from managed_redis.engine.connections import Connections
from managed_redis.engine.errors import EngineError
from managed_redis.engine.facts import HostFacts, ProcessState
from managed_redis.engine.model import (
    Node,
    Sentinel,
    WatchedHost,
)
from managed_redis.engine.probe import Prober
from managed_redis.engine.redis_side import RedisSide, StateOf, look

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0
# Sentinel's own timers (SENTINEL DEBUG; not kept in its config, so set at every start).
# It refreshes what it knows of each instance (INFO) every 10 s by default. A switchover
# or a priority change needs it every second, and asks for that while it runs
# (``switchover.attentive``); the rest of the time 10 s it is: at 1 s, 600 Sentinels' INFO
# polling alone kept both cores of the development machine busy (171 % against 52 %).
SENTINEL_TIMERS_MS = {"info-period": 10_000}
# How long one look at every host may wait for answers: a host silent this long is reported
# as not answering (its process state says whether it is alive).
OBSERVE_TIMEOUT_S = 1.0
# A process whose pidfile is gone is looked for in /proc at most this often.
SCAN_EVERY_S = 5.0


def _write(path: Path, text: str, mode: int = 0o600) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


class LocalEngine(RedisSide):
    """The ``Engine`` (see ``engine/base.py``) of processes on this machine; its Redis and
    Sentinel commands are ``RedisSide``'s."""

    def __init__(self, connections: Connections | None = None) -> None:
        self.connections = connections or Connections()
        self.watch = process.ProcessWatch()
        self._probers = threading.local()
        self._scan_lock = threading.Lock()
        self._last_scan: tuple[float, frozenset[str], dict[str, int]] = (0.0, frozenset(), {})

    # -- Redis hosts --------------------------------------------------------------------------

    def write_node_files(self, node: Node) -> None:
        """Write ``redis.conf`` and ``users.acl`` into ``node``'s directory (made if missing), each
        replaced whole. Raises OSError if they cannot be written."""
        node.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write(node.conf_file, conf.redis_conf(node))
        _write(node.acl_file, conf.users_acl(node))

    def node_running(self, node: Node) -> bool:
        """Whether ``node``'s process is alive, from the watch or its pidfile. Never raises."""
        return self._pid(node.marker, node.pidfile) is not None

    def running_pid(self, node: Node) -> int | None:
        """The pid of ``node``'s live process, looked for in /proc if its pidfile is gone.
        Never raises."""
        return self._pid(node.marker, node.pidfile, scan=True)

    def forget_process(self, node: Node) -> None:
        """Drop what the engine holds of ``node``'s process (watch, connections): it is gone.
        Never raises."""
        self._forget(node.marker, node.address)

    def _pid(self, marker: str, pidfile: Path, scan: bool = False) -> int | None:
        """The live process of ``marker``: watched, else named by its pidfile, else (``scan``)
        found in /proc, as when its pidfile went with its directory."""
        pid = self.watch.pid(marker)
        if pid is None:
            pid = process.live_pid(pidfile, marker)
            if pid is None and scan:
                pid = self._scan({marker}).get(marker)
            if pid is not None:
                self.watch.add(marker, pid)
        return pid

    def _scan(self, markers: set[str], fresh: bool = True) -> dict[str, int]:
        """marker -> pid of the live processes holding ``markers``, from one pass over /proc;
        with ``fresh`` False, a pass of the last ``SCAN_EVERY_S`` that looked for them will do."""
        if fresh:  # a fresh pass answers its caller only: a later look must not see it as old news
            return process.find_by_markers(markers)
        with self._scan_lock:
            at, searched, found = self._last_scan
            if time.monotonic() - at > SCAN_EVERY_S or not markers <= searched:
                found = process.find_by_markers(markers)
                self._last_scan = (time.monotonic(), frozenset(markers), found)
            return {marker: pid for marker, pid in found.items() if marker in markers}

    def ensure_node(self, node: Node, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Start ``node`` unless it runs; either way return once it answers PING, with its AOF
        on if it is meant to keep one.

        With ``appendonly yes`` Redis reads its AOF alone and, finding none, starts empty and
        ignores its ``dump.rdb``. So a node meant to keep an AOF that has none complete yet (a
        snapshot was just placed, or it stopped before its first AOF rewrite finished) starts
        from its RDB with the AOF off and turns it on once up; the RDB stays until the AOF has
        replaced it as what a restart reads.
        Raises EngineError if the process does not start (``process.start_daemon``), exits while
        starting, refuses the control plane's credentials or does not answer within
        ``timeout_s``; redis.RedisError if it answers but refuses the ACL or AOF changes;
        OSError if its files cannot be written.
        """
        if self.node_running(node):
            self.wait_ready(node, timeout_s)
            self.apply_users(node)
        else:
            from_rdb = node.appendonly and not self.aof_manifest(node).exists() and self.rdb_path(node).exists()
            starting = dataclasses.replace(node, appendonly=False) if from_rdb else node
            self.write_node_files(starting)
            self.connections.forget(node.address)
            started = time.monotonic()
            pid = process.start_daemon([node.binary, str(node.conf_file)], node.pidfile, node.marker, node.log_file)
            self.watch.add(node.marker, pid)
            self.wait_ready(node, timeout_s)
            if from_rdb:
                log.info("redis on %s loaded its RDB in %.2f s", node.name, time.monotonic() - started)
        if node.appendonly and self.admin(node).config_get("appendonly").get("appendonly") != "yes":
            self.config_set(node, [("appendonly", "yes")])

    def apply_users(self, node: Node) -> dict[str, str] | None:
        """``users.acl`` rewritten, then, on a running node, its users made the declared ones
        live (``Engine.apply_users``): ``ACL SETUSER <name> reset on|off #<sha256> <rules>
        <denials>`` per declared user, the unavailable commands' denials on ``default``
        (``conf.customer_denials``: a node started from an older ``users.acl`` gets today's),
        ``CLIENT KILL USER`` per disabled user, ``ACL DELUSER`` of any other customer user
        (Redis closes its connections), ``ACL SAVE``. None if the node is not running.
        Raises redis.RedisError if the node cannot be asked or refuses; OSError if
        ``users.acl`` cannot be written."""
        node.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write(node.acl_file, conf.users_acl(node))
        if not self.node_running(node):
            return None
        return self.apply_users_live(node)

    def wait_ready(self, node: Node, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Return once ``node`` answers PING (at most ``timeout_s``; LOADING counts as not yet).
        Raises EngineError if its process exits meanwhile, it refuses the control plane's
        credentials, or it does not answer in time."""
        self.answering(node, timeout_s, poll_s=0.01, watch_exit=True)

    def stop_node(self, node: Node, save: bool = True, timeout_s: float = 120.0) -> None:
        """Shut Redis down: saving an RDB snapshot first when ``save`` (retrying while Redis
        says it cannot, say during an AOF rewrite), or at once and whatever it is doing.
        Returns once the process is gone (at most ``timeout_s`` plus 10 s to kill it).
        Never raises for Redis's refusals: past ``timeout_s`` the process is killed."""
        pid = self._pid(node.marker, node.pidfile, scan=True)
        if pid is None:
            return
        self.shut_down(node, save, timeout_s, lambda wait_s: process.wait_gone(pid, wait_s), lambda: process.kill(pid))
        self._forget(node.marker, node.address)

    def fence(self, node: Node) -> None:
        """Make sure ``node``'s process acknowledges nothing more, at once (at most ~10 s).

        A process stopped by a signal keeps its life (whoever stopped it may resume it) but
        loses every connection and listener: nothing queued is ever answered, and once
        resumed it can be reached by no one until it is restarted. Any other process (hung,
        cut off) is killed. Raises EngineError if it could not be fenced.
        """
        pid = self._pid(node.marker, node.pidfile, scan=True)
        if pid is None:
            return
        if process.state_letter(pid) in ("T", "t"):
            try:
                shut = process.shut_sockets(pid)
                log.warning("fenced stopped redis on %s (pid %d): %d sockets shut", node.name, pid, shut)
                self.connections.forget(node.address)
                self._prober().forget(node.address)
                return
            except PermissionError as exc:
                log.warning("cannot shut the sockets of stopped redis on %s (%s); killing it", node.name, exc)
        if not process.kill(pid):
            raise EngineError(f"redis on {node.name} (pid {pid}) did not die on SIGKILL")
        self._forget(node.marker, node.address)

    def clear_addresses(self, hosts: Sequence[WatchedHost]) -> None:
        """Kill whatever still serves the ``hosts``' addresses (processes left by a cluster
        that had them before) and remove their directories: the addresses are then the new
        hosts' alone. One pass over /proc for all of them.
        Never raises for what it finds (a process that outlives SIGKILL is left, a directory
        that cannot be removed is kept)."""
        address_of = {marker: h.address for h in hosts for marker in (h.marker, h.sentinel_marker)}
        for marker, pid in self._scan(set(address_of)).items():
            log.warning("killing pid %d left on %s by an earlier owner of the address", pid, marker)
            process.kill(pid)
            self._forget(marker, address_of[marker])
        for host in hosts:
            self.remove_directory(host.directory)

    def _forget(self, marker: str, address: str) -> None:
        self.watch.forget(marker)
        self.connections.forget(address)
        self._prober().forget(address)

    def remove_directory(self, directory: Path) -> None:
        """Remove ``directory`` and everything in it. Never raises (what cannot be removed stays)."""
        shutil.rmtree(directory, ignore_errors=True)

    def restore_files(self, node: Node) -> None:
        """Give a running Redis whose directory is gone its files back, from its memory:
        a new AOF (if it keeps one) or ``nodes.conf`` (cluster mode), then config, users and
        pidfile. No restart, no copy from elsewhere. The config comes last: while it is
        missing the host still counts as having lost its files, so a failure is tried again.
        Raises EngineError if Redis refuses."""
        pid = self._pid(node.marker, node.pidfile, scan=True)
        if pid is None:
            raise EngineError(f"redis on {node.name} is not running; nothing to restore files for")
        node.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Redis works in its directory (it chdir'ed into it at start); a new one at the same
        # path is another directory until Redis is told to move into it.
        self.rewrite_files(node, str(node.directory))
        _write(node.pidfile, f"{pid}\n", mode=0o644)
        self.write_node_files(node)

    # -- snapshots ----------------------------------------------------------------------------

    def rdb_path(self, node: Node) -> Path:
        """``dump.rdb`` in ``node``'s directory. Never raises (no I/O)."""
        return node.directory / "dump.rdb"

    def bgsave(self, node: Node, timeout_s: float = 3600.0) -> Path:
        """Have ``node`` write a fresh RDB snapshot; return the file once it is complete.
        Raises EngineError if Redis reports the save failed or it does not finish within
        ``timeout_s``; redis.RedisError if ``node`` cannot be asked."""
        self.wait_bgsave(node, timeout_s)
        return self.rdb_path(node)

    def aof_manifest(self, node: Node) -> Path:
        """Written by Redis once an AOF is complete; from then on a restart reads the AOF.
        Never raises (no I/O)."""
        return node.directory / "appendonlydir" / "appendonly.aof.manifest"

    def shares_snapshot(self, node: Node) -> bool:
        """Whether replicas can start from ``node``'s ``dump.rdb`` too and then continue from
        ``node`` by partial sync: the file must record its replication position.
        Never raises: an unreadable or foreign file is False."""
        return rdb_header.records_replication_position(self.rdb_path(node))

    def share_snapshot(self, source: Node, target: Node) -> None:
        """Put ``source``'s ``dump.rdb`` in ``target``'s directory, as a hard link where it can:
        Redis replaces the file by renaming a new one over it, never writes into it.
        Raises OSError if ``source`` has no ``dump.rdb`` or it can be neither linked nor copied."""
        target.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.rdb_path(target)
        path.unlink(missing_ok=True)
        try:
            os.link(self.rdb_path(source), path)
        except OSError:
            shutil.copyfile(self.rdb_path(source), path)

    def load_snapshot(self, node: Node, timeout_s: float = 3600.0) -> None:
        """Start ``node`` (which must not run) from the ``dump.rdb`` placed in its directory,
        whatever AOF an earlier life of the directory left.
        Raises EngineError if ``node`` already runs, or as ``ensure_node`` does."""
        if self.node_running(node):
            raise EngineError(f"redis on {node.name} already runs; it cannot load a snapshot")
        shutil.rmtree(self.aof_manifest(node).parent, ignore_errors=True)
        self.ensure_node(node, timeout_s)

    def restart_from_snapshot(
        self, before: Node, after: Node, keep_data: bool = True, timeout_s: float = 3600.0
    ) -> None:
        """Restart a host into another mode or version (``before`` -> ``after``, the same
        host and directory) from a fresh RDB snapshot of its memory, never from its AOF: a
        log's commands may mean something else to what starts next (``SELECT 5`` is refused
        in cluster mode, so what followed it lands in db0; see ``engine/snapshot_restart.py``).

        With ``keep_data`` (a master): ``before`` is started if it is down (from its own
        files, in the mode that wrote them), then ``SHUTDOWN SAVE`` writes the snapshot and
        stops it in one step, so every write it acknowledged is in the file and none later is
        acknowledged (clients see the connection closed, then refused, until ``after``
        answers). Only once the new ``dump.rdb`` is checked on disk is the AOF removed; then
        ``after`` loads the RDB, and if it keeps an AOF this returns once the new AOF base,
        written from what it loaded, is complete: nothing ``after`` acknowledges depends on
        the old log. Without ``keep_data`` (a replica, whose data is its master's) the host
        is stopped without saving, its RDB and AOF removed and ``after`` started empty; it
        copies its master's snapshot when it replicates it (Redis Cluster lets only an
        empty node replicate). ``nodes.conf`` is kept either way.

        Safe to run again: a host already running as ``after`` is saved and loaded again.
        Takes up to ``timeout_s`` to save, and as long again to load.
        Raises EngineError: the snapshot was not written (Redis refused to save: the host
        keeps running as ``before``, its files untouched), or ``after`` did not start.
        """
        snapshot_restart.restart_from_snapshot(self, before, after, keep_data, timeout_s)

    # -- configuration ------------------------------------------------------------------------

    def config_set(self, node: Node, pairs: Sequence[tuple[str, str]]) -> None:
        """Apply directives live and rewrite the file the process would restart from.
        Raises redis.RedisError if Redis refuses a directive or cannot be asked (the file is
        then left as it was); OSError if the file cannot be written."""
        if pairs:
            args = [part for pair in pairs for part in pair]
            self.admin(node).execute_command("CONFIG", "SET", *args)
        self.write_node_files(node)

    # -- Sentinels ----------------------------------------------------------------------------

    def sentinel_running(self, sentinel: Sentinel) -> bool:
        """Whether the Sentinel's process is alive, from the watch or its pidfile. Never raises."""
        return self._pid(sentinel.marker, sentinel.pidfile) is not None

    def ensure_sentinel(self, sentinel: Sentinel, fresh_config: bool = False) -> None:
        """Start ``sentinel`` unless it runs. Its own rewritten config (its memory of epochs and
        of the current master) is kept across restarts unless ``fresh_config``.
        Returns once it answers (at most ~60 s). Raises EngineError if it does not start or does
        not answer by then; OSError if its config cannot be written."""
        if not self.sentinel_running(sentinel):
            sentinel.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            if fresh_config or not sentinel.conf_file.exists():
                _write(sentinel.conf_file, conf.sentinel_conf(sentinel))
            self.connections.forget(sentinel.address)
            pid = process.start_daemon(
                [sentinel.binary, str(sentinel.conf_file), "--sentinel"],
                sentinel.pidfile,
                sentinel.marker,
                sentinel.log_file,
            )
            self.watch.add(sentinel.marker, pid)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                timers = [str(part) for pair in SENTINEL_TIMERS_MS.items() for part in pair]
                self.sentinel_admin(sentinel).execute_command("SENTINEL", "DEBUG", *timers)
                return
            except redis.RedisError as exc:
                if time.monotonic() > deadline:
                    raise EngineError(f"sentinel on {sentinel.name} did not answer: {exc}") from exc
                time.sleep(0.01)

    def set_sentinel_auth(self, sentinel: Sentinel) -> None:
        """Give ``sentinel``'s ``default`` user (the clients') the password ``sentinel.auth``
        asks for (the cluster's) or none: live (``ACL SETUSER``, then ``SENTINEL FLUSHCONFIG``)
        if it runs, else in its config file, which it reads when it starts. Connections
        already open stay authenticated. The control plane's user is untouched.
        Raises redis.RedisError if a running Sentinel cannot be asked or refuses; OSError if a
        stopped one's config cannot be rewritten."""
        if self.sentinel_running(sentinel):
            client = self.sentinel_admin(sentinel)
            client.execute_command("ACL", "SETUSER", "default", *conf.sentinel_default_user_rules(sentinel))
            client.execute_command("SENTINEL", "FLUSHCONFIG")
            return
        if not sentinel.conf_file.exists():
            return  # written whole, with today's rule, when it starts
        _write(sentinel.conf_file, conf.with_sentinel_default_user(sentinel.conf_file.read_text(), sentinel))

    def stop_sentinel(self, sentinel: Sentinel) -> None:
        """Stop the Sentinel (SIGTERM, SIGKILL after 10 s); returns once it is gone.
        Never raises."""
        pid = self._pid(sentinel.marker, sentinel.pidfile, scan=True)
        if pid is not None:
            process.terminate(pid, timeout_s=10.0)
        self.watch.forget(sentinel.marker)
        self.connections.forget(sentinel.address)

    # -- observation ---------------------------------------------------------------------------

    def observe(
        self, hosts: Sequence[WatchedHost], timeout_s: float = OBSERVE_TIMEOUT_S, keep_connections: bool = False
    ) -> dict[str, HostFacts]:
        """One look at every host at once: its processes and what each says; host name -> facts.

        Takes at most ``timeout_s`` (plus a /proc pass when a process lost its pidfile). Never
        raises for a host's own fault: that is what the facts say. ``keep_connections`` keeps
        the connections open for the next look of the same caller (the supervisor, which
        looks at every host each second); otherwise they are closed before returning.
        """
        watched = self.watch.pids([h.marker for h in hosts] + [h.sentinel_marker for h in hosts if h.asks_sentinel])
        # A process not watched yet is looked for by its pidfile, and watched from then on.
        redis_pids = {h.name: watched[h.marker] or self._pid(h.marker, h.pidfile) for h in hosts}
        sentinel_pids = {
            h.name: watched[h.sentinel_marker] or self._pid(h.sentinel_marker, h.sentinel_pidfile)
            for h in hosts
            if h.asks_sentinel
        }
        missing = {h.marker for h in hosts if redis_pids[h.name] is None}
        missing |= {h.sentinel_marker for h in hosts if h.asks_sentinel and sentinel_pids[h.name] is None}
        if missing:
            for marker, pid in self._scan(missing, fresh=False).items():
                self.watch.add(marker, pid)
            for host in hosts:
                if redis_pids[host.name] is None:
                    redis_pids[host.name] = self.watch.pid(host.marker)
                if host.asks_sentinel and sentinel_pids[host.name] is None:
                    sentinel_pids[host.name] = self.watch.pid(host.sentinel_marker)
        prober = self._prober() if keep_connections else Prober()
        try:
            return look(
                prober,
                hosts,
                {name: _state_of(pid) for name, pid in redis_pids.items()},
                {name: _state_of(pid) for name, pid in sentinel_pids.items()},
                timeout_s,
                lambda host: os.path.exists(host.conf_file),
                lambda host: os.path.exists(host.sentinel_conf_file),
            )
        finally:
            if not keep_connections:
                prober.close()

    def wait_for_exit(self, timeout_s: float) -> list[str]:
        """Sleep until a process the engine watches exits, or ``timeout_s`` passes; the
        ``address:port`` of each that exited.
        Never raises."""
        return self.watch.wait_exit(timeout_s)

    def _prober(self) -> Prober:
        prober: Prober | None = getattr(self._probers, "prober", None)
        if prober is None:
            prober = self._probers.prober = Prober()
        return prober


def _state_of(pid: int | None) -> StateOf | None:
    """How to tell the state of the process ``pid`` once it did not answer (None: no process)."""
    return None if pid is None else lambda: _process_state(pid)


def _process_state(pid: int) -> ProcessState:
    letter = process.state_letter(pid)
    if letter is None or letter in ("Z", "X"):
        return ProcessState.GONE
    return ProcessState.STOPPED if letter in ("T", "t") else ProcessState.RUNNING
