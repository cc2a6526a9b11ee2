"""What an engine does by speaking to Redis and Sentinel, whatever runs them.

``RedisSide`` holds the ``Engine`` calls (``engine/base.py``) that are Redis or Sentinel
commands and nothing else: replication, keyspace, the customer's password and users live,
Sentinel's quorum, view and failover, waiting for a BGSAVE. ``look`` asks many hosts at once
and turns their answers into facts. ``LocalEngine`` (processes on this machine) and
``KubernetesEngine`` (pods) both build on it; each says how a node is reached
(``endpoint``), whether its Redis runs (``node_running``) and where its log is read
(``log_hint``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis

from managed_redis.engine import conf
from managed_redis.engine.addresses import SENTINEL_PORT
from managed_redis.engine.connections import Connections, Endpoint, connect
from managed_redis.engine.errors import EngineError
from managed_redis.engine.facts import HostFacts, ProcessState, RedisFacts, SentinelFacts, redis_facts
from managed_redis.engine.model import Node, Sentinel, WatchedHost
from managed_redis.engine.probe import Answer, Prober, Question
from managed_redis.engine.stats import STATS_INFO, RedisStats, redis_stats
from managed_redis.engine.switchover import wait_offsets_seen

log = logging.getLogger(__name__)

SYNC_TIMEOUT_S = 300.0
# What an engine knows of a process that did not answer: a call saying its state now.
StateOf = Callable[[], ProcessState]


class RedisSide:
    """The Redis and Sentinel commands of an ``Engine``, on ``self.connections``."""

    connections: Connections

    def node_running(self, node: Node) -> bool:
        """Whether ``node``'s Redis runs; each engine says how. Never raises."""
        raise NotImplementedError

    def log_hint(self, node: Node) -> str:
        """Where ``node``'s Redis log is read, for messages. Never raises."""
        return str(node.log_file)

    # -- control connections ------------------------------------------------------------------

    def endpoint(self, node: Node) -> Endpoint:
        """Where and as whom the control plane reaches ``node``. Never raises (no I/O)."""
        credentials = node.credentials
        ca_file = node.tls.ca_file if node.tls else None
        return Endpoint(node.address, node.port, credentials.admin_user, credentials.admin_password, ca_file)

    def admin(self, node: Node) -> redis.Redis:
        """The pooled control connection to ``node`` (``Engine.admin``). Opens nothing yet: its
        commands raise redis.RedisError when ``node`` cannot be asked or refuses."""
        return self.connections.client(self.endpoint(node))

    def sentinel_admin(self, sentinel: Sentinel) -> redis.Redis:
        """The pooled control connection to ``sentinel``. Opens nothing yet: its commands raise
        redis.RedisError when the Sentinel cannot be asked or refuses."""
        credentials = sentinel.credentials
        return self.connections.client(
            Endpoint(sentinel.address, SENTINEL_PORT, credentials.admin_user, credentials.admin_password)
        )

    # -- users ---------------------------------------------------------------------------------

    def apply_users_live(self, node: Node) -> dict[str, str]:
        """Make the running ``node`` hold exactly its declared users (``Engine.apply_users``,
        the live half): ``ACL SETUSER <name> reset on|off #<sha256> <rules> <denials>`` per
        declared user, the unavailable commands' denials on ``default``, ``CLIENT KILL USER``
        per disabled user, ``ACL DELUSER`` of any other customer user, ``ACL SAVE``. Returns
        each declared user's ``ACL LIST`` line less ``user <name>``.
        Raises redis.RedisError if ``node`` cannot be asked or refuses."""
        client = self.admin(node)
        denials = conf.customer_denials(node.cluster_mode).split()
        declared = {user.name for user in node.users}
        kept = {"default", node.credentials.admin_user, *declared}
        held = [
            name.decode() if isinstance(name, bytes) else str(name) for name in client.execute_command("ACL", "USERS")
        ]
        pipe = client.pipeline(transaction=False)
        pipe.execute_command("ACL", "SETUSER", "default", *denials)
        for user in node.users:
            state = "on" if user.enabled else "off"
            passwords = [f"#{digest}" for digest in user.password_sha256]
            pipe.execute_command("ACL", "SETUSER", user.name, "reset", state, *passwords, *user.rules.split(), *denials)
            if not user.enabled:
                pipe.execute_command("CLIENT", "KILL", "USER", user.name)
        for name in held:
            if name not in kept:
                pipe.execute_command("ACL", "DELUSER", name)
        pipe.execute_command("ACL", "SAVE")
        pipe.execute()
        described: dict[str, str] = {}
        for line in client.execute_command("ACL", "LIST"):
            parts = (line.decode() if isinstance(line, bytes) else str(line)).split(" ", 2)
            if len(parts) == 3 and parts[1] in declared:
                described[parts[1]] = parts[2]
        return described

    def set_default_password(self, node: Node, password: str) -> None:
        """Change the customer's password live without dropping anyone's connection.
        Raises redis.RedisError if ``node`` cannot be asked or refuses."""
        client = self.admin(node)
        client.execute_command("ACL", "SETUSER", "default", "resetpass", f"#{conf.sha256(password)}")
        client.execute_command("ACL", "SAVE")

    def shut_down(
        self, node: Node, save: bool, timeout_s: float, gone: Callable[[float], bool], kill: Callable[[], object]
    ) -> None:
        """SHUTDOWN ``node``'s Redis (``SAVE`` first when ``save``, else ``NOSAVE NOW FORCE``),
        sent again while Redis refuses (say, during an AOF rewrite), until ``gone(wait_s)``
        (waiting up to ``wait_s`` seconds) says its process went; past ``timeout_s`` seconds,
        ``kill()``. How an engine sees its process go and kills it is its own. Never raises
        for Redis's refusals."""
        command = ("SHUTDOWN", "SAVE") if save else ("SHUTDOWN", "NOSAVE", "NOW", "FORCE")
        deadline = time.monotonic() + timeout_s
        while not gone(0):
            try:
                with connect(self.endpoint(node), timeout_s=min(timeout_s, 30.0)) as client:
                    client.execute_command(*command)
            except redis.ConnectionError:
                pass  # SHUTDOWN closes the connection when it succeeds
            except redis.RedisError as exc:
                if time.monotonic() > deadline:
                    log.warning("SHUTDOWN on %s keeps failing (%s); killing it", node.name, exc)
                    kill()
                    return
                log.info("SHUTDOWN on %s refused (%s); trying again", node.name, exc)
                time.sleep(0.2)
                continue
            if gone(10.0):
                return
            if time.monotonic() > deadline:
                kill()
                return

    # -- replication ---------------------------------------------------------------------------

    def answering(self, node: Node, timeout_s: float, poll_s: float, watch_exit: bool) -> None:
        """Return once ``node`` answers PING (at most ``timeout_s``, asking every ``poll_s``
        seconds; LOADING counts as not yet). Raises EngineError if it refuses the control
        plane's credentials (the process on its address is not the one we run), if
        ``watch_exit`` and its Redis stops running meanwhile, or if it does not answer in time."""
        deadline = time.monotonic() + timeout_s
        last_error = ""
        while time.monotonic() < deadline:
            if watch_exit and not self.node_running(node):
                raise EngineError(f"redis on {node.name} exited while starting; see {self.log_hint(node)}")
            try:
                self.admin(node).ping()
                return
            except redis.BusyLoadingError:
                last_error = "still loading its data"
            except redis.AuthenticationError as exc:
                raise EngineError(f"redis on {node.name} refuses the control plane's credentials: {exc}") from exc
            except redis.RedisError as exc:
                last_error = str(exc)
            time.sleep(poll_s)
        raise EngineError(
            f"redis on {node.name} did not answer within {timeout_s:.0f} s ({last_error}); see {self.log_hint(node)}"
        )

    def rewrite_files(self, node: Node, directory: str) -> None:
        """Have ``node``'s Redis write its own files again from its memory into ``directory``
        (its new working directory): ``nodes.conf`` in cluster mode, a new AOF if it keeps
        one. Raises EngineError if Redis refuses."""
        client = self.admin(node)
        try:
            client.config_set("dir", directory)
            if node.cluster_mode:
                client.execute_command("CLUSTER", "SAVECONFIG")
            if node.appendonly:
                client.execute_command("BGREWRITEAOF")
        except redis.RedisError as exc:
            raise EngineError(f"redis on {node.name} could not write its files again: {exc}") from exc

    def replication(self, node: Node) -> dict[str, Any]:
        """``INFO replication`` of ``node``. Raises redis.RedisError if ``node`` cannot be asked."""
        info: dict[str, Any] = self.admin(node).info("replication")
        return info

    def replicate_from(self, node: Node, master: Node | None) -> None:
        """``REPLICAOF`` ``master``, or ``REPLICAOF NO ONE`` for None. Raises redis.RedisError if
        ``node`` cannot be asked or refuses."""
        client = self.admin(node)
        if master is None:
            client.execute_command("REPLICAOF", "NO", "ONE")
        else:
            client.execute_command("REPLICAOF", master.address, master.port)

    def wait_in_sync(self, replica: Node, master: Node, timeout_s: float = SYNC_TIMEOUT_S) -> None:
        """Return once ``replica`` is linked to ``master`` and has caught up with it.
        Raises EngineError if it has not caught up within ``timeout_s``; redis.RedisError if
        either cannot be asked."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            info = self.replication(replica)
            if (
                info.get("master_host") == master.address
                and info.get("master_link_status") == "up"
                and not info.get("master_sync_in_progress")
            ):
                target = self.replication(master).get("master_repl_offset", 0)
                if int(info.get("slave_repl_offset", -1)) >= int(target):
                    return
            time.sleep(0.01)
        raise EngineError(f"replica {replica.name} did not catch up with {master.name} within {timeout_s:.0f} s")

    def keyspace(self, node: Node) -> dict[str, int]:
        """Keys per database (``db0`` -> count) as ``INFO keyspace`` reports them.
        Raises redis.RedisError if ``node`` cannot be asked."""
        info: dict[str, Any] = self.admin(node).info("keyspace")
        return {db: int(stats.get("keys", 0)) for db, stats in info.items()}

    def databases_in_use(self, node: Node) -> list[str]:
        """The databases (``db0``, ``db5``, ...) holding at least one key that has not expired.

        ``INFO keyspace`` also counts keys whose time has passed but that Redis has not
        reclaimed yet; a database whose keys all carry a TTL is scanned (SCAN skips expired
        keys) until one live key is found. Raises redis.RedisError if ``node`` cannot be asked.
        """
        in_use = []
        with connect(self.endpoint(node), timeout_s=30) as client:
            for db, stats in client.info("keyspace").items():
                if int(stats.get("keys", 0)) > int(stats.get("expires", 0)) or _has_live_key(client, db):
                    in_use.append(db)
        return sorted(in_use, key=lambda db: int(db.removeprefix("db")))

    # -- snapshots -----------------------------------------------------------------------------

    def wait_bgsave(self, node: Node, timeout_s: float) -> None:
        """Have ``node`` write a fresh RDB snapshot (``BGSAVE SCHEDULE``); return once it is
        complete. Raises EngineError if Redis reports the save failed or it does not finish
        within ``timeout_s``; redis.RedisError if ``node`` cannot be asked."""
        with connect(self.endpoint(node), timeout_s=30) as client:
            before = int(client.info("persistence")["rdb_saves"])
            client.execute_command("BGSAVE", "SCHEDULE")
            deadline = time.monotonic() + timeout_s
            ours_started = False
            while time.monotonic() < deadline:
                info = client.info("persistence")
                running = bool(info["rdb_bgsave_in_progress"])
                if not running and int(info["rdb_saves"]) > before:
                    return
                if not running and ours_started and info["rdb_last_bgsave_status"] != "ok":
                    raise EngineError(f"BGSAVE on {node.name} failed; see {self.log_hint(node)}")
                ours_started = ours_started or running
                time.sleep(0.02)
        raise EngineError(f"BGSAVE on {node.name} did not finish within {timeout_s:.0f} s")

    # -- Sentinels -----------------------------------------------------------------------------

    def wait_quorum(self, sentinels: Sequence[Sentinel], timeout_s: float = 30.0) -> None:
        """Return once every Sentinel says the quorum can be reached (``SENTINEL CKQUORUM``).
        Raises EngineError naming the first Sentinel without a quorum after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        for sentinel in sentinels:
            while True:
                try:
                    self.sentinel_admin(sentinel).execute_command("SENTINEL", "CKQUORUM", sentinel.master_name)
                    break
                except redis.RedisError as exc:
                    if time.monotonic() > deadline:
                        raise EngineError(f"sentinel on {sentinel.name} has no quorum: {exc}") from exc
                    time.sleep(0.02)

    def master_seen_by(self, sentinel: Sentinel) -> str | None:
        """The master address this Sentinel names, or None if it cannot be asked.
        Never raises."""
        try:
            reply = self.sentinel_admin(sentinel).execute_command(
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentinel.master_name
            )
        except redis.RedisError:
            return None
        return str(reply[0]) if reply else None

    def failing_over(self, sentinel: Sentinel) -> bool:
        """Whether ``sentinel`` is failing its master over now: ``failover_in_progress`` among
        its flags in ``SENTINEL MASTER`` (set from the start of its election until the new
        master is announced). False if it cannot be asked. Never raises."""
        try:
            state = self.sentinel_admin(sentinel).sentinel_master(sentinel.master_name)
        except redis.RedisError:
            return False
        if not isinstance(state, dict):
            return False
        flags = state.get("flags", "")
        return "failover_in_progress" in (flags if isinstance(flags, set) else set(str(flags).split(",")))

    def request_failover(self, sentinel: Sentinel, replicas: Sequence[Node] = ()) -> None:
        """Ask ``sentinel`` to fail its master over now (``SENTINEL FAILOVER``): it picks the
        replica by its own rules (priority, then the offset it knows). With ``replicas``, it
        is asked once it knows their offsets as they are (``switchover.wait_offsets_seen``,
        the Sentinels attentive meanwhile). Raises EngineError if it refuses (NOGOODSLAVE,
        INPROG) or cannot be asked."""
        if replicas and not wait_offsets_seen(self, sentinel, replicas):  # type: ignore[arg-type]
            log.warning("the sentinel on %s has not seen every replica's offset; failing over anyway", sentinel.name)
        try:
            self.sentinel_admin(sentinel).execute_command("SENTINEL", "FAILOVER", sentinel.master_name)
        except redis.RedisError as exc:
            raise EngineError(f"sentinel on {sentinel.name} did not take the failover: {exc}") from exc


# -- one look at many hosts ----------------------------------------------------------------------


def look(
    prober: Prober,
    hosts: Sequence[WatchedHost],
    redis_alive: Mapping[str, StateOf | None],
    sentinel_alive: Mapping[str, StateOf | None],
    timeout_s: float,
    files_present: Callable[[WatchedHost], bool],
    sentinel_files_present: Callable[[WatchedHost], bool],
) -> dict[str, HostFacts]:
    """Ask every host whose Redis (and Sentinel, where it ``asks_sentinel``) is alive, at once,
    and turn the answers into facts: host name -> ``HostFacts``.

    ``redis_alive``/``sentinel_alive`` say, per host name, how to tell the state of a process
    that runs (asked only when it did not answer), or None where none runs: it is not asked
    and its facts say GONE. ``files_present`` says whether a host's config is where a restart
    reads it. Takes at most ``timeout_s``. Never raises for a host's own fault."""
    questions: list[Question] = []
    asked: list[tuple[str, str]] = []  # (host name, "redis" | "sentinel")
    for host in hosts:
        credentials = host.credentials
        if redis_alive.get(host.name) is not None:
            endpoint = Endpoint(
                host.address, host.port, credentials.admin_user, credentials.admin_password, host.ca_file
            )
            questions.append(Question(endpoint, _commands(host)))
            asked.append((host.name, "redis"))
        if host.sentinel_master and host.ask_sentinel and sentinel_alive.get(host.name) is not None:
            endpoint = Endpoint(host.address, SENTINEL_PORT, credentials.admin_user, credentials.admin_password)
            questions.append(Question(endpoint, (("SENTINEL", "GET-MASTER-ADDR-BY-NAME", host.sentinel_master),)))
            asked.append((host.name, "sentinel"))
    answers = dict(zip(asked, prober.ask(questions, timeout_s), strict=True))
    facts = {}
    for host in hosts:
        redis_answer = answers.get((host.name, "redis"))
        redis_facts_ = _redis_facts(host, redis_alive.get(host.name), redis_answer, files_present(host))
        sentinel_facts = None
        if host.asks_sentinel:
            sentinel_facts = _sentinel_facts(sentinel_alive.get(host.name), answers.get((host.name, "sentinel")))
            if not sentinel_files_present(host):
                sentinel_facts = dataclasses.replace(sentinel_facts, files_present=False)
        facts[host.name] = HostFacts(redis_facts_, sentinel_facts, _stats(host, redis_facts_, redis_answer))
    return facts


# What a look asks a redis-server: its replication and persistence state and the configured
# min-replicas-to-write; in cluster mode also how it sees the cluster and its node timeout.
_LOOK: tuple[tuple[str, ...], ...] = (
    ("INFO", "replication", "persistence"),
    ("CONFIG", "GET", "min-replicas-to-write"),
)
_CLUSTER_LOOK = (*_LOOK, ("CLUSTER", "INFO"), ("CLUSTER", "NODES"), ("CONFIG", "GET", "cluster-node-timeout"))
_PING: tuple[tuple[str, ...], ...] = (("PING",),)
# A look that also reads the host's load: the same questions, the INFO asking for more sections.
_STATS_LOOK = (STATS_INFO, *_LOOK[1:])
_CLUSTER_STATS_LOOK = (STATS_INFO, *_CLUSTER_LOOK[1:])


def _commands(host: WatchedHost) -> tuple[tuple[str, ...], ...]:
    if host.ping_only:
        return _PING
    if host.with_stats:
        return _CLUSTER_STATS_LOOK if host.cluster_mode else _STATS_LOOK
    return _CLUSTER_LOOK if host.cluster_mode else _LOOK


def _redis_facts(host: WatchedHost, state_of: StateOf | None, answer: Answer | None, files_present: bool) -> RedisFacts:
    if state_of is None or answer is None:
        return RedisFacts(ProcessState.GONE, files_present=files_present)
    if not answer.answered or isinstance(answer.replies[0], Exception):
        error = answer.error or str(answer.replies[0])
        return RedisFacts(state_of(), error=error, files_present=files_present)
    if host.ping_only:
        return RedisFacts(ProcessState.RUNNING, answered=True, files_present=files_present)
    info, config = answer.replies[0], answer.replies[1]
    min_replicas = int(config[1]) if isinstance(config, list) and len(config) == 2 else None
    cluster_info = str(answer.replies[2]) if host.cluster_mode and len(answer.replies) > 2 else None
    if not (host.cluster_mode and len(answer.replies) > 4):
        return redis_facts(ProcessState.RUNNING, files_present, str(info), cluster_info, min_replicas)
    nodes, timeout = answer.replies[3], answer.replies[4]
    timeout_ms = int(timeout[1]) if isinstance(timeout, list) and len(timeout) == 2 else None
    nodes_text = nodes if isinstance(nodes, str) else None
    return redis_facts(
        ProcessState.RUNNING, files_present, str(info), cluster_info, min_replicas, nodes_text, timeout_ms
    )


def _stats(host: WatchedHost, facts: RedisFacts, answer: Answer | None) -> RedisStats | None:
    """The load a stats look read (None for any other look, or a host that did not answer)."""
    if not (host.with_stats and not host.ping_only and facts.answered and answer is not None):
        return None
    return redis_stats(str(answer.replies[0]))


def _sentinel_facts(state_of: StateOf | None, answer: Answer | None) -> SentinelFacts:
    if state_of is None or answer is None:
        return SentinelFacts(ProcessState.GONE)
    if not answer.answered or isinstance(answer.replies[0], Exception):
        return SentinelFacts(state_of(), error=answer.error or str(answer.replies[0]))
    reply = answer.replies[0]
    master = str(reply[0]) if isinstance(reply, list) and reply else None
    return SentinelFacts(ProcessState.RUNNING, answered=True, master_address=master)


def _has_live_key(client: redis.Redis, db: str) -> bool:
    """Whether database ``db`` (``db5``) of the connected Redis holds a key that has not
    expired. Leaves the connection in that database."""
    client.execute_command("SELECT", int(db.removeprefix("db")))
    cursor = "0"
    while True:
        cursor, keys = client.execute_command("SCAN", cursor, "COUNT", 1000)
        if keys:
            return True
        if str(cursor) == "0":
            return False
