"""The supervisor's decisions as a table: what was seen of a cluster -> the actions, and why.

Each row builds a ``ClusterView`` (declared hosts + their last facts) and lists the actions
expected as (what, on which host, involving which other host), plus a phrase the reason
must say. Hosts h1..h3 are 10.0.0.1..3; h1 is the recorded master unless a row says not.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from managed_redis.engine.facts import HostFacts, ProcessState, RedisFacts, Role, SentinelFacts
from managed_redis.operations.decisions import Do, Policy, decide
from managed_redis.operations.views import ClusterView, HostView

NOW = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.UTC)
POLICY = Policy(
    fence_after_s=3.0,
    failover_retry_s=15.0,
    restart_master_after_s=30.0,
    sentinel_reset_after_s=15.0,
    heal_during=frozenset({"cluster.backup"}),
)


def addr(name: str) -> str:
    return f"10.0.0.{name[1:]}"


def master(**changes: Any) -> RedisFacts:
    base = RedisFacts(ProcessState.RUNNING, answered=True, role=Role.MASTER, offset=1000, min_replicas=1)
    return dataclasses.replace(base, **changes)


def replica(of: str = "h1", **changes: Any) -> RedisFacts:
    base = RedisFacts(
        ProcessState.RUNNING,
        answered=True,
        role=Role.REPLICA,
        master_address=addr(of),
        link_up=True,
        master_last_io_s=0,
        offset=1000,
        replica_priority=100,
    )
    return dataclasses.replace(base, **changes)


GONE = RedisFacts(ProcessState.GONE)


def silent(process: ProcessState = ProcessState.RUNNING) -> RedisFacts:
    return RedisFacts(process, error="no answer within 1.0 s")


@dataclass
class H:
    """One host of a row: its Redis facts, whom its Sentinel names, and how long ago Redis answered."""

    name: str
    redis: RedisFacts
    names: str | None = "h1"  # the master its Sentinel names; None: the Sentinel is gone
    silent_s: float = 0.0
    priority: int = 100
    shard: str = "shard1"


@dataclass
class Row:
    id: str
    hosts: list[H]
    expected: list[tuple[Do, str | None, str | None]]
    says: str = ""
    sharded: bool = False
    persistence: str = "ON"
    recorded: dict[str, str] = field(default_factory=lambda: {"shard1": "h1"})
    status: str = "RUNNING"
    busy_with: str | None = None
    busy_orphaned: bool = False
    # False: the hosts were never looked at (no facts stored yet).
    looked: bool = True
    # Hosts whose Sentinel config file is gone.
    sentinel_files_gone: tuple[str, ...] = ()
    # Hosts that were running but silent when the users changed.
    users_pending: tuple[str, ...] = ()


def view_of(row: Row) -> ClusterView:
    hosts = []
    for h in row.hosts:
        sentinel = None
        if not row.sharded:
            sentinel = (
                SentinelFacts(ProcessState.GONE)
                if h.names is None
                else SentinelFacts(
                    ProcessState.RUNNING,
                    answered=True,
                    master_address=addr(h.names),
                    files_present=h.name not in row.sentinel_files_gone,
                )
            )
        answered_at = NOW - dt.timedelta(seconds=h.silent_s)
        hosts.append(
            HostView(
                name=h.name,
                address=addr(h.name),
                shard=h.shard,
                zone="ru-central1-a",
                priority=h.priority,
                facts=HostFacts(h.redis, sentinel) if row.looked else None,
                checked_at=NOW,
                answered_at=answered_at,
            )
        )
    return ClusterView(
        id="c1",
        name="cache",
        status=row.status,
        sharded=row.sharded,
        persistence=row.persistence,
        hosts=tuple(hosts),
        recorded_masters=dict(row.recorded),
        busy_with=row.busy_with,
        busy_orphaned=row.busy_orphaned,
        users_pending=frozenset(row.users_pending),
    )


TWO = {"s1": "h1", "s2": "h3"}


def healthy() -> list[H]:
    return [H("h1", master()), H("h2", replica()), H("h3", replica())]


def with_host(hosts: list[H], name: str, **changes: Any) -> list[H]:
    return [dataclasses.replace(h, **changes) if h.name == name else h for h in hosts]


def sharded(*shards: list[H]) -> list[H]:
    return [h for shard in shards for h in shard]


def shard_of(name: str, *members: tuple[str, RedisFacts], priority: dict[str, int] | None = None) -> list[H]:
    return [H(host, facts, names=None, shard=name, priority=(priority or {}).get(host, 100)) for host, facts in members]


ROWS = [
    Row("healthy cluster: nothing to do", healthy(), []),
    Row(
        "a replica silent while the users changed answers again: give it the declared users",
        healthy(),
        [(Do.APPLY_USERS, "h2", None)],
        says="did not answer when the users changed",
        users_pending=("h2",),
    ),
    Row(
        "a master silent while the users changed answers again: give it the declared users",
        healthy(),
        [(Do.APPLY_USERS, "h1", None)],
        users_pending=("h1",),
    ),
    Row(
        "a host that missed a user change is still silent: wait for it",
        with_host(healthy(), "h2", redis=silent()),
        [],
        users_pending=("h2",),
    ),
    Row(
        "a host that missed a user change is loading its data: wait for it",
        with_host(healthy(), "h2", redis=replica(loading=True)),
        [(Do.SET_REPLICA_PRIORITY, "h2", "h1")],
        users_pending=("h2",),
    ),
    Row(
        "a user change missed on a cluster an operation holds: left to the operation",
        healthy(),
        [],
        users_pending=("h2",),
        busy_with="user.update",
    ),
    Row(
        "two replicas linked, the master writes unguarded: guard it",
        with_host(healthy(), "h1", redis=master(min_replicas=0)),
        [(Do.SET_MIN_REPLICAS, "h1", None)],
        says="2 replica(s) linked",
    ),
    Row(
        "one replica left linked: the master stays guarded",
        with_host(healthy(), "h3", redis=GONE),
        [(Do.RESTART_REPLICA, "h3", "h1")],
    ),
    Row(
        "no replica linked: the master writes without waiting for one",
        with_host(with_host(healthy(), "h2", redis=GONE), "h3", redis=GONE),
        [(Do.RESTART_REPLICA, "h2", "h1"), (Do.RESTART_REPLICA, "h3", "h1"), (Do.SET_MIN_REPLICAS, "h1", None)],
        says="no replica is linked",
    ),
    Row(
        "a two-host cluster's one replica linked, the master writes unguarded: guard it",
        [H("h1", master(min_replicas=0)), H("h2", replica())],
        [(Do.SET_MIN_REPLICAS, "h1", None)],
        says="1 replica(s) linked",
    ),
    Row(
        "a switchover that did not finish left its fence on a master that stayed: lift it",
        with_host(healthy(), "h1", redis=master(min_replicas=1_000_000)),
        [(Do.SET_MIN_REPLICAS, "h1", None)],
    ),
    Row(
        "a replica left fenced by a switchover would refuse writes once promoted: clear it",
        with_host(healthy(), "h2", redis=replica(min_replicas=1_000_000)),
        [(Do.SET_MIN_REPLICAS, "h2", "h1")],
        says="the moment it is promoted",
    ),
    Row(
        "master process gone, replicas in sync: promote now",
        with_host(healthy(), "h1", redis=GONE, silent_s=0.5),
        [(Do.FAILOVER, "h1", "h2")],
        says="process is gone",
    ),
    Row(
        "master gone, its only replica just promoted (Sentinels not yet switched): it comes back as a replica",
        [H("h1", GONE, silent_s=1), H("h2", master(min_replicas=0))],
        [(Do.RESTART_REPLICA, "h1", "h2")],
        says="restart it as a replica of h2",
    ),
    Row(
        "master gone, one of two replicas promoted, the other still following it: back as a replica of the new one",
        [H("h1", GONE, silent_s=1), H("h2", master(min_replicas=0)), H("h3", replica())],
        [(Do.RESTART_REPLICA, "h1", "h2")],  # h3 is the Sentinels' to repoint
        says="was promoted in its place",
    ),
    Row(
        "master gone and every replica has priority 0: restart it from its AOF",
        [H("h1", GONE, silent_s=1), H("h2", replica(replica_priority=0), priority=0)],
        [(Do.RESTART_MASTER, "h1", None)],
        says="from its AOF",
    ),
    Row(
        "master gone, priority 0 replica, no persistence: restart from the replica's snapshot",
        [H("h1", GONE, silent_s=1), H("h2", replica(replica_priority=0), priority=0)],
        [(Do.RESTART_MASTER_FROM_REPLICA, "h1", "h2")],
        says="an empty master would wipe its replicas",
        persistence="OFF",
    ),
    Row(
        "master gone, ON_REPLICAS: the master kept no AOF, the most advanced replica's copy is used",
        [
            H("h1", GONE, silent_s=1),
            H("h2", replica(replica_priority=0, offset=10), priority=0),
            H("h3", replica(replica_priority=0, offset=90), priority=0),
        ],
        [(Do.RESTART_MASTER_FROM_REPLICA, "h1", "h3")],
        persistence="ON_REPLICAS",
    ),
    Row(
        "master gone and its files too, no replica may take over: the replica's copy, not an empty disk",
        [
            H("h1", dataclasses.replace(GONE, files_present=False), silent_s=1),
            H("h2", replica(replica_priority=0), priority=0),
        ],
        [(Do.RESTART_MASTER_FROM_REPLICA, "h1", "h2")],
    ),
    Row(
        "master gone and no replica was promoted in time: restart it from its data",
        with_host(healthy(), "h1", redis=GONE, silent_s=45),
        [(Do.RESTART_MASTER, "h1", None)],
        says="no replica was promoted",
    ),
    Row(
        "a one-host cluster lost its only redis-server: cold start",
        [H("h1", GONE, silent_s=1)],
        [(Do.COLD_START, None, None)],
    ),
    Row(
        "every redis-server gone (a reboot): cold start",
        [H("h1", GONE), H("h2", GONE), H("h3", GONE)],
        [(Do.COLD_START, None, None)],
        says="every redis-server",
    ),
    Row(
        "master stopped by a signal for 4 s: fence it, then promote",
        with_host(healthy(), "h1", redis=silent(ProcessState.STOPPED), silent_s=4),
        [(Do.FENCE, "h1", None), (Do.FAILOVER, "h1", "h2")],
        says="stopped by a signal",
    ),
    Row(
        "master silent for 4 s and its replicas' links are down (hung or cut off): fence, promote",
        [
            H("h1", silent(), silent_s=4),
            H("h2", replica(link_up=False, master_last_io_s=-1, link_down_s=3)),
            H("h3", replica(link_up=False, master_last_io_s=-1, link_down_s=4)),
        ],
        [(Do.FENCE, "h1", None), (Do.FAILOVER, "h1", "h2")],
        says="replicas do not hear from it",
    ),
    Row(
        "master silent for 4 s, its one replica restarted and still in its full sync: it lacks what the "
        "master acknowledged, so the master is waited for",
        [
            H("h1", silent(), silent_s=4),
            H("h2", replica(link_up=False, master_last_io_s=-1, link_down_s=-1, syncing=True, offset=0)),
        ],
        [(Do.SET_REPLICA_PRIORITY, "h2", "h1")],
    ),
    Row(
        "master stopped for 4 s, its replicas' links down for 30 s (cut off before it fell silent): "
        "none may replace it",
        [
            H("h1", silent(ProcessState.STOPPED), silent_s=4),
            H("h2", replica(link_up=False, master_last_io_s=-1, link_down_s=30)),
            H("h3", replica(link_up=False, master_last_io_s=-1, link_down_s=-1)),
        ],
        [(Do.SET_REPLICA_PRIORITY, "h3", "h1")],
    ),
    Row(
        "a replica syncing after its restart: replica-priority 0 while it catches up",
        with_host(
            healthy(),
            "h3",
            redis=replica(link_up=False, master_last_io_s=-1, link_down_s=-1, syncing=True),
        ),
        [(Do.SET_REPLICA_PRIORITY, "h3", "h1")],
        says="no Sentinel promotes it",
    ),
    Row(
        "a replica in step again with priority 0 left from its sync: its declared priority back",
        with_host(healthy(), "h3", redis=replica(replica_priority=0), priority=40),
        [(Do.SET_REPLICA_PRIORITY, "h3", "h1")],
        says="declared replica-priority",
    ),
    Row(
        "a replica whose link just went down with its master (in step until then): its priority stays",
        with_host(
            healthy(),
            "h3",
            redis=replica(link_up=False, master_last_io_s=-1, link_down_s=2),
        ),
        [],
    ),
    Row(
        "a replica declared priority 0, in step: nothing to change",
        with_host(healthy(), "h3", redis=replica(replica_priority=0), priority=0),
        [],
    ),
    Row(
        "master stopped, one replica streaming and one restarted (never up since): the streaming one",
        [
            H("h1", silent(ProcessState.STOPPED), silent_s=4),
            H("h2", replica(link_up=False, master_last_io_s=-1, link_down_s=-1, offset=99999)),
            H("h3", replica(master_last_io_s=4)),
        ],
        [(Do.FENCE, "h1", None), (Do.FAILOVER, "h1", "h3"), (Do.SET_REPLICA_PRIORITY, "h2", "h1")],
    ),
    Row(
        "master silent to the control plane only (its replicas hear it): leave it",
        with_host(healthy(), "h1", redis=silent(), silent_s=4),
        [],
    ),
    Row(
        "master silent for 1 s only: too soon",
        with_host(healthy(), "h1", redis=silent(ProcessState.STOPPED), silent_s=1),
        [],
    ),
    Row(
        "master stopped, but no replica may be promoted: fencing would help no one",
        [H("h1", silent(ProcessState.STOPPED), silent_s=10), H("h2", replica(replica_priority=0), priority=0)],
        [],
    ),
    Row(
        "the old master came back as a second master: demote it at once, record the new one",
        [
            H("h1", master(), names="h2"),
            H("h2", master(), names="h2"),
            H("h3", replica(of="h2"), names="h2"),
        ],
        [(Do.DEMOTE, "h1", "h2"), (Do.RECORD_MASTER, "h2", None)],
        says="acknowledges nothing that would be lost",
    ),
    Row(
        "network-isolated master, replicas cut off, Sentinels promoted h2: demote h1",
        [
            H("h1", master(replica_lags={}), names="h2"),
            H("h2", master(), names="h2"),
            H("h3", replica(of="h2"), names="h2"),
        ],
        [(Do.DEMOTE, "h1", "h2"), (Do.RECORD_MASTER, "h2", None)],
    ),
    Row(
        "network-isolated master before any promotion: nothing yet (Sentinel decides; min-replicas bounds it)",
        [
            H("h1", master()),
            H("h2", replica(link_up=False, master_last_io_s=-1)),
            H("h3", replica(link_up=False, master_last_io_s=-1)),
        ],
        [(Do.SET_MIN_REPLICAS, "h1", None)],
    ),
    Row(
        "two masters and the Sentinels split: no demotion on a guess",
        [H("h1", master(), names="h1"), H("h2", master(), names="h2"), H("h3", replica(), names=None)],
        [(Do.RESTART_SENTINEL, "h3", "h1")],
    ),
    Row(
        "a replica's process gone: restart it as a replica of the master",
        with_host(healthy(), "h2", redis=GONE),
        [(Do.RESTART_REPLICA, "h2", "h1")],
    ),
    Row(
        "a replica runs but has answered no one for 7 s: restart it",
        with_host(healthy(), "h3", redis=silent(), silent_s=7),
        [(Do.RESTART_HUNG, "h3", "h1")],
        says="its master has it not streaming",
    ),
    Row(
        "a fenced master resumed as a replica its master hears, but that refuses every connection: restart it",
        with_host(
            with_host(healthy(), "h3", redis=RedisFacts(ProcessState.RUNNING, error="connection refused"), silent_s=9),
            "h1",
            redis=master(replica_lags={"10.0.0.2": 0, "10.0.0.3": 0}),
        ),
        [(Do.RESTART_HUNG, "h3", "h1")],
        says="refuses connections",
    ),
    Row(
        "a replica too slow to answer the control plane, but its master hears it: leave it",
        with_host(
            with_host(healthy(), "h3", redis=silent(), silent_s=7), "h1", redis=master(replica_lags={"10.0.0.3": 0})
        ),
        [],
    ),
    Row(
        "a replica's files are gone while it serves: write them again",
        with_host(healthy(), "h2", redis=replica(files_present=False)),
        [(Do.RESTORE_FILES, "h2", "h1")],
    ),
    Row(
        "the master's files are gone while it serves: write them again, no failover",
        with_host(healthy(), "h1", redis=master(files_present=False)),
        [(Do.RESTORE_FILES, "h1", None)],
    ),
    Row(
        "one broken host never hides another: files gone on h2 and h3 dead at once",
        with_host(with_host(healthy(), "h2", redis=replica(files_present=False)), "h3", redis=GONE),
        [(Do.RESTORE_FILES, "h2", "h1"), (Do.RESTART_REPLICA, "h3", "h1")],
    ),
    Row(
        "a Sentinel gone: restart it",
        with_host(healthy(), "h2", names=None),
        [(Do.RESTART_SENTINEL, "h2", "h1")],
    ),
    Row(
        "a Sentinel whose config file is gone: restart it from a fresh one",
        [H("h1", master()), H("h2", replica()), H("h3", replica())],
        [(Do.RESET_SENTINEL, "h2", "h1")],
        says="config of the Sentinel",
        sentinel_files_gone=("h2",),
    ),
    Row(
        "a Sentinel naming another master than its peers: reset it (after a grace)",
        with_host(healthy(), "h3", names="h2"),
        [(Do.RESET_SENTINEL, "h3", "h1")],
        says="while its peers name h1",
    ),
    Row(
        "ON_REPLICAS: the AOF follows the role after a failover",
        [
            H("h1", master(aof_enabled=True)),
            H("h2", replica(aof_enabled=False)),
            H("h3", replica(aof_enabled=True)),
        ],
        [(Do.SET_APPENDONLY, "h1", "h1"), (Do.SET_APPENDONLY, "h2", "h1")],
        persistence="ON_REPLICAS",
    ),
    Row(
        "a host never looked at yet: no decision on a guess",
        [H("h1", GONE)],
        [],
        looked=False,
    ),
    Row(
        "a cluster being deleted: its dead master is left alone",
        with_host(healthy(), "h1", redis=GONE, silent_s=1),
        [],
        status="UPDATING",
        busy_with="cluster.delete",
    ),
    Row(
        "an operation carried on by its worker: left to it, even two masters",
        [H("h1", master(), names="h2"), H("h2", master(), names="h2"), H("h3", replica(of="h2"), names="h2")],
        [],
        status="UPDATING",
        busy_with="cluster.failover",
    ),
    Row(
        "an operation whose control plane died (lease run out): a replaced master is still demoted",
        [H("h1", master(), names="h2"), H("h2", master(), names="h2"), H("h3", replica(of="h2"), names="h2")],
        [(Do.DEMOTE, "h1", "h2")],
        status="UPDATING",
        busy_with="cluster.failover",
        busy_orphaned=True,
    ),
    Row(
        "a backup runs beside healing",
        with_host(healthy(), "h2", redis=GONE),
        [(Do.RESTART_REPLICA, "h2", "h1")],
        busy_with="cluster.backup",
    ),
    Row(
        "a stopped cluster is not healed",
        [H("h1", GONE), H("h2", GONE)],
        [],
        status="STOPPED",
    ),
    # -- Redis Cluster ---------------------------------------------------------------------------
    Row(
        "one shard (one master: no vote possible), master gone: takeover by the most advanced replica",
        shard_of("s1", ("h1", GONE), ("h2", replica(offset=5)), ("h3", replica(offset=9))),
        [(Do.TAKEOVER, "h1", "h3")],
        says="none is possible with fewer than 3 masters",
        sharded=True,
        recorded={"s1": "h1"},
    ),
    Row(
        "three shards, one master gone: only that shard acts",
        sharded(
            shard_of("s1", ("h1", GONE), ("h2", replica())),
            shard_of("s2", ("h3", master()), ("h4", replica(of="h3"))),
            shard_of("s3", ("h5", master()), ("h6", replica(of="h5"))),
        ),
        [(Do.TAKEOVER, "h1", "h2")],
        says="no vote is waited for",
        sharded=True,
        recorded={"s1": "h1", "s2": "h3", "s3": "h5"},
    ),
    Row(
        "sharded, master gone and its replica may not fail over: restart the master",
        shard_of("s1", ("h1", GONE), ("h2", replica()), priority={"h2": 0}),
        [(Do.RESTART_MASTER, "h1", None)],
        sharded=True,
        recorded={"s1": "h1"},
    ),
    Row(
        "sharded, master stopped by a signal: fence, then takeover",
        shard_of("s1", ("h1", silent(ProcessState.STOPPED)), ("h2", replica())),
        [(Do.FENCE, "h1", None), (Do.TAKEOVER, "h1", "h2")],
        sharded=True,
        recorded={"s1": "h1"},
    ),
    Row(
        "sharded, a new master blocked (a client's retried script) while the old one, restarted, still "
        "syncs from it: no takeover by a replica that lacks its writes",
        [
            H("h1", silent(), names=None, silent_s=6, shard="s1"),
            H("h2", replica(link_up=False, master_last_io_s=-1, link_down_s=-1, syncing=True), names=None, shard="s1"),
        ],
        [],
        sharded=True,
        recorded={"s1": "h1"},
    ),
    Row(
        "sharded, the replica that took over is silent (a client's retried script) and the master it "
        "replaced is gone: the old one waits (from its nodes.conf it would come back a master)",
        [
            H("h1", GONE, names=None, shard="s1"),
            H("h2", silent(), names=None, silent_s=1, shard="s1"),
        ],
        [],
        sharded=True,
        recorded={"s1": "h2"},
    ),
    Row(
        "sharded, the replaced master gone and the new one answering: the old one comes back as its replica",
        shard_of("s1", ("h1", GONE), ("h2", master())),
        [(Do.RESTART_REPLICA, "h1", "h2")],
        sharded=True,
        recorded={"s1": "h2"},
    ),
    Row(
        "sharded, a fenced old master refusing connections while the new one is silent: not restarted yet",
        [
            H("h1", RedisFacts(ProcessState.RUNNING, error="connection refused"), names=None, silent_s=30, shard="s1"),
            H("h2", silent(), names=None, silent_s=1, shard="s1"),
        ],
        [],
        sharded=True,
        recorded={"s1": "h2"},
    ),
    Row(
        "sharded, master gone, its one replica never in step since its restart: the master comes back "
        "from its AOF rather than the replica taking over",
        shard_of("s1", ("h1", GONE), ("h2", replica(link_up=False, master_last_io_s=-1, link_down_s=-1))),
        [(Do.RESTART_MASTER, "h1", None)],
        sharded=True,
        recorded={"s1": "h1"},
    ),
    Row(
        "sharded, master gone with its files (its node identity) and no replica may be promoted: "
        "the replica holding the data takes over anyway, or the shard would stay down",
        shard_of("s1", ("h1", dataclasses.replace(GONE, files_present=False)), ("h2", replica()), priority={"h2": 0}),
        [(Do.TAKEOVER, "h1", "h2")],
        says="node identity",
        sharded=True,
        recorded={"s1": "h1"},
    ),
    Row(
        "sharded, a replica gone: restart it from its nodes.conf",
        shard_of("s1", ("h1", master()), ("h2", GONE)),
        [(Do.RESTART_REPLICA, "h2", "h1")],
        sharded=True,
        recorded={"s1": "h1"},
    ),
    Row(
        "sharded, a replica took over: record it, restart the old master as a replica",
        shard_of("s1", ("h1", GONE), ("h2", master())),
        [(Do.RESTART_REPLICA, "h1", "h2"), (Do.RECORD_MASTER, "h2", None)],
        sharded=True,
        recorded={"s1": "h1"},
    ),
]


# -- slots half-moved (Redis Cluster) -----------------------------------------------------------
def two_shards(**h1_changes: object) -> list[H]:
    """Two shards of a master and a replica, all agreeing on the slot owners (digest "d1")."""
    agreed: dict[str, Any] = {
        "owners_digest": "d1",
        "node_timeout_ms": 5000,
        "cluster_state": "ok",
        "cluster_slots_ok": 16384,
    }
    return sharded(
        shard_of("s1", ("h1", master(**{**agreed, **h1_changes})), ("h2", replica(**agreed))),
        shard_of("s2", ("h3", master(**agreed)), ("h4", replica(of="h3", **agreed))),
    )


SLOT_ROWS = [
    Row("sharded, slots agreed and none open: nothing to do", two_shards(), [], sharded=True, recorded=TWO),
    Row(
        "sharded, a slot left MIGRATING with no operation moving it: settle it",
        two_shards(open_slots=(5000, 5001)),
        [(Do.SETTLE_SLOTS, None, None)],
        says="5000, 5001 are open",
        sharded=True,
        recorded=TWO,
    ),
    Row(
        "sharded, the nodes name different owners for a slot: settle it",
        two_shards(owners_digest="d2"),
        [(Do.SETTLE_SLOTS, None, None)],
        says="different owners",
        sharded=True,
        recorded=TWO,
    ),
    Row(
        "sharded, views differ while a replica's new master is silent (a takeover's claim still "
        "spreading, or a master frozen): no settling until every live node answers",
        sharded(
            shard_of("s1", ("h1", master(owners_digest="d1")), ("h2", replica(owners_digest="d2"))),
            shard_of("s2", ("h3", master(owners_digest="d1")), ("h4", RedisFacts(ProcessState.STOPPED))),
        ),
        [],
        sharded=True,
        recorded=TWO,
    ),
    Row(
        "sharded, a node timeout left raised by a big key's move: set it back",
        two_shards(node_timeout_ms=65000),
        [(Do.SETTLE_SLOTS, None, None)],
        says="cluster-node-timeout is not 5000 ms on h1",
        sharded=True,
        recorded=TWO,
    ),
    Row(
        "sharded, slots open while a rebalance moves them: its business, nothing to do",
        two_shards(open_slots=(5000,)),
        [],
        sharded=True,
        recorded=TWO,
        status="UPDATING",
        busy_with="cluster.rebalance",
    ),
    Row(
        "sharded, slots open and the rebalance orphaned (its control plane died): left to its resumption",
        two_shards(open_slots=(5000,)),
        [],
        sharded=True,
        recorded=TWO,
        status="UPDATING",
        busy_with="cluster.rebalance",
        busy_orphaned=True,
    ),
    Row(
        "sharded, a silent node's old facts do not count: only answering nodes are compared",
        with_host(two_shards(), "h4", redis=silent()),
        [],
        sharded=True,
        recorded=TWO,
    ),
]


@pytest.mark.parametrize("row", SLOT_ROWS, ids=[row.id for row in SLOT_ROWS])
def test_slot_decision(row: Row) -> None:
    test_decision(row)


def test_settling_slots_waits_for_its_grace_and_cools_down() -> None:
    (settle,) = decide(view_of(Row("x", two_shards(open_slots=(7,)), [], sharded=True, recorded=TWO)), POLICY, NOW)
    assert settle.grace_s == POLICY.settle_slots_after_s and settle.cooldown_s == POLICY.settle_slots_after_s


def _silent_overrides(row: Row) -> Row:
    """Sharded rows built with shard_of carry no silence; a silent host there is 4 s silent
    unless the row says how long."""
    if not row.sharded:
        return row
    hosts = [dataclasses.replace(h, silent_s=4) if not h.redis.answered and not h.silent_s else h for h in row.hosts]
    return dataclasses.replace(row, hosts=hosts)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_decision(row: Row) -> None:
    actions = decide(view_of(_silent_overrides(row)), POLICY, NOW)
    assert [(a.do, a.host, a.other) for a in actions] == row.expected, [a.reason for a in actions]
    for action in actions:
        assert action.reason, action
    if row.says:
        assert any(row.says in action.reason for action in actions), [a.reason for a in actions]


def test_a_master_promoted_in_the_claimants_place_demotes_it_at_once() -> None:
    old, new = master(replid="A" * 40), master(replid="B" * 40, replid2="A" * 40)
    hosts = [H("h1", old, names="h2"), H("h2", new, names="h2"), H("h3", replica(of="h2"), names="h2")]
    (demote, *_) = decide(view_of(Row("x", hosts, [])), POLICY, NOW)
    assert (demote.do, demote.host, demote.grace_s) == (Do.DEMOTE, "h1", 0.0)
    assert "promoted in its place" in demote.reason


def test_a_promotion_not_yet_announced_is_not_undone_at_once() -> None:
    """Mid-switchover: the target already says master, the Sentinels still name the old one
    (they announce ~1 s later). Demoting the target then would undo the switchover."""
    old, new = master(replid="A" * 40), master(replid="B" * 40, replid2="A" * 40)
    hosts = [H("h1", old, names="h1"), H("h2", new, names="h1"), H("h3", replica(), names="h1")]
    demotions = [a for a in decide(view_of(Row("x", hosts, [])), POLICY, NOW) if a.do == Do.DEMOTE]
    assert [(a.host, a.grace_s) for a in demotions] == [("h2", POLICY.demote_grace_s)]


def test_a_sentinel_reset_waits_for_its_grace() -> None:
    actions = decide(view_of(Row("x", with_host(healthy(), "h3", names="h2"), [])), POLICY, NOW)
    assert [a.grace_s for a in actions] == [POLICY.sentinel_reset_after_s]


def test_promotions_cool_down_so_a_failover_is_not_asked_every_second() -> None:
    view = view_of(Row("x", with_host(healthy(), "h1", redis=GONE), []))
    (failover,) = decide(view, POLICY, NOW)
    assert failover.do == Do.FAILOVER and failover.cooldown_s == POLICY.failover_retry_s
