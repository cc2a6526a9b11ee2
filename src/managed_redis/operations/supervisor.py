"""The supervisor: observe every host, decide what each cluster needs, act on it, every second.

One pass, under the supervisor's lease in the store (several ``mredis serve`` on one
PostgreSQL: one supervises, and one that dies is replaced within the lease, at once by a
replica of the same machine, which also ends the healing locks it held):

1. **Observe**: one look at the hosts of every running cluster at once (``engine.observe``:
   processes, what Redis and Sentinel say): all of a cluster that needs an eye, the masters
   of a steady one (their Sentinels in turn) and its other hosts in turn. What changed is
   stored with when it was seen, so API reads show it without touching a process.
2. **Decide**: ``decisions.decide`` (pure) turns each cluster's view into actions with reasons.
   Clusters held by an operation are left to it (but for those healing may run beside).
3. **Act**: a cluster with due actions is locked for healing (in the transaction that checks
   it still exists, is RUNNING, no operation holds it and its hosts are those seen), then its
   actions run in a small pool, each with a deadline, so a slow cluster never holds up the
   others. Operations submitted meanwhile wait for the lock to go.

A pass also starts early when a watched process exits (``engine.wait_for_exit``): a dead
master is noticed in milliseconds, not at the next tick. ``ActionBook`` (``action_book.py``)
keeps the timing of actions across passes: grace before some, cooldown after others, backoff
after failures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from managed_redis.clock import Clock
from managed_redis.engine.facts import HostFacts
from managed_redis.engine.model import Credentials, WatchedHost
from managed_redis.errors import InternalError
from managed_redis.lease_holders import this_process
from managed_redis.operations import healing
from managed_redis.operations.action_book import ActionBook
from managed_redis.operations.decisions import SAFE_WHILE_BUSY, Action, Do, Policy, decide
from managed_redis.operations.deps import Deps
from managed_redis.operations.host_stats import SupervisorMetrics, keep_stats, with_stats_due
from managed_redis.operations.loaded_cluster import LoadedCluster, watched_host
from managed_redis.operations.registry import HEAL_DURING
from managed_redis.operations.views import ClusterView, cluster_view
from managed_redis.store import clusters as cluster_store
from managed_redis.store import host_facts, leases
from managed_redis.store import operations as op_store
from managed_redis.store import users as user_store
from managed_redis.store.clusters import ClusterRecord, HostRecord, ShardRecord
from managed_redis.store.database import Database
from managed_redis.store.host_facts import FactsRow, Sighting

log = logging.getLogger(__name__)

LEASE = "supervisor"
# Clusters whose processes are meant to run, and so are looked at.
OBSERVED_STATUSES = frozenset({"RUNNING", "UPDATING"})
ACT_THREADS = 4
# A steady cluster's hosts are looked at in full every ROTATION passes, one in ROTATION of
# them each pass; in the other passes its masters are asked whether they answer (PING: a
# master's silence is what must be noticed within seconds), the rest are left be.
ROTATION = 3
# A host whose facts did not change has its times written this often (readers call facts
# older than health.STALE_AFTER_S unknown).
STAMP_EVERY_S = 10.0


def _steady(facts: dict[str, Any]) -> bool:
    """Whether a host's last look found it answering, whole and (a replica) linked."""
    redis, sentinel = facts.get("redis") or {}, facts.get("sentinel")
    if not (redis.get("answered") and redis.get("files_present", True)):
        return False
    if redis.get("role") == "replica" and not redis.get("link_up"):
        return False
    return sentinel is None or bool(sentinel.get("answered") and sentinel.get("files_present", True))


def _revision(record: ClusterRecord | None) -> int | None:
    return record.revision if record is not None else None


def policy_of(deps: Deps) -> Policy:
    settings = deps.settings
    detect_s = min(settings.sentinel_down_after_s, settings.cluster_node_timeout_s)
    return Policy(
        fence_after_s=settings.effective_fence_after_s,
        failover_retry_s=detect_s * 2 + 5,
        restart_master_after_s=max(30.0, detect_s * 6),
        sentinel_reset_after_s=detect_s * 2 + 5,
        settle_slots_after_s=settings.cluster_node_timeout_s * 2,
        cluster_node_timeout_ms=int(settings.cluster_node_timeout_s * 1000),
        heal_during=HEAL_DURING,
    )


@dataclass(frozen=True)
class PassReport:
    """What one pass did: for the log at DEBUG and for bench/."""

    held_lease: bool
    clusters: int = 0
    hosts: int = 0
    acting: int = 0
    observe_s: float = 0.0
    total_s: float = 0.0


class Supervisor:
    def __init__(self, db: Database, deps: Deps, clock: Clock, period_s: float = 1.0) -> None:
        self.db = db
        self.deps = deps
        self.clock = clock
        self.period_s = period_s
        self.policy = policy_of(deps)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        # Short, so that a restarted control plane takes over within seconds (say, to demote
        # a master a crashed switchover left behind); two supervisors never act on one
        # cluster at once anyway (the healing lock).
        self.lease_ttl_s = max(3.0, 3 * period_s)
        self.book = ActionBook()
        # Each host's load, read every metrics_period_s, and the supervisor's tallies: GET /metrics.
        self.metrics = SupervisorMetrics(deps.settings.metrics_period_s)
        self._pool = ThreadPoolExecutor(max_workers=ACT_THREADS, thread_name_prefix="heal")
        self._acting: dict[str, Future[None]] = {}
        self._credentials: dict[bytes, Credentials] = {}
        self._watched_of: dict[str, tuple[int, list[WatchedHost], list[WatchedHost]]] = {}
        # What this supervisor knows of each running cluster, as of the revision of its record.
        self._records: dict[str, ClusterRecord] = {}
        self._hosts: dict[str, list[HostRecord]] = {}
        self._shards: dict[str, list[ShardRecord]] = {}
        self._rows: dict[str, FactsRow] = {}
        self._parsed: dict[str, HostFacts] = {}
        self._pass = 0
        # Whether the last pass held the lease: a pass that takes it anew first marks every
        # stored look unconfirmed (``host_facts.unverify``) and reads everything again.
        self._holding = False
        # Clusters whose last decision found nothing to do, and those read again this pass.
        self._quiet: set[str] = set()
        # Cluster id -> its hosts holding old users (read each pass: ``users.pending_hosts``).
        self._users_pending: dict[str, frozenset[str]] = {}
        self._reread: set[str] = set()
        # When each host's times were last written.
        self._stamped: dict[str, dt.datetime] = {}
        # Processes that exited since the last pass (address:port): their cluster gets a full look.
        self._exited: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Take the lease if it is free (before the API serves: a read never shows what a
        stopped control plane saw as if it were current), then pass every ``period_s``."""
        try:
            self._hold_lease(self.clock.now())
        except Exception:
            log.exception("supervisor: could not take its lease at start")
        self._thread = threading.Thread(target=self._loop, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop passing; actions under way finish on their own deadline (the process may exit)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._pool.shutdown(wait=False, cancel_futures=True)
        try:
            with self.db.write() as conn:
                leases.release(conn, LEASE, self.owner)
        except Exception:
            log.debug("supervisor: could not release its lease", exc_info=True)

    def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Wait until every action started by past passes is done (tests, bench/)."""
        deadline = time.monotonic() + timeout_s
        for future in list(self._acting.values()):
            future.result(max(0.0, deadline - time.monotonic()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.run_once()
                log.debug("supervisor: %s", report)
            except Exception:
                log.exception("supervisor: pass failed")
            exited = self.deps.engine.wait_for_exit(self.period_s)
            if exited:
                log.debug("supervisor: %s exited; looking now", ", ".join(exited))
                self._exited.update(exited)

    # -- one pass ------------------------------------------------------------------------------

    def run_once(self) -> PassReport:
        started = time.monotonic()
        now = self.clock.now()
        if not self._hold_lease(now):
            return PassReport(held_lease=False)
        records, hosts, shards, stored, busy = self._read()
        with self.db.read() as conn:
            self._users_pending = user_store.pending_hosts(conn)
        self._pass += 1
        watched = [
            watched_host
            for record in records
            for watched_host in self._to_look_at(record, hosts[record.id], stored, record.id in busy)
        ]
        self._exited.clear()
        watched = with_stats_due(self.metrics.stats, watched, time.time())
        looked = time.monotonic()
        facts = self.deps.engine.observe(watched, keep_connections=True)
        observe_s = time.monotonic() - looked
        keep_stats(self.metrics.stats, facts, time.time())
        self._complete(watched, facts)
        now = self.clock.now()
        changed = self._store(records, hosts, stored, facts, now)
        acting = 0
        for record in records:
            holder = busy.get(record.id)
            quiet = record.id in self._quiet and record.id not in changed and record.id not in self._reread
            quiet = quiet and record.id not in self._users_pending
            if quiet and holder is None:
                continue  # nothing seen or stored changed, and last time there was nothing to do
            view = cluster_view(
                record,
                hosts[record.id],
                shards[record.id],
                self._rows,
                holder.kind if holder else None,
                holder is not None and holder.orphaned(now),
                self._parsed_facts(hosts[record.id]),
                self._users_pending.get(record.id, frozenset()),
            )
            started_acting = self._heal(view, now)
            acting += started_acting
            if (
                started_acting
                or self.book.pending(record.id)
                or not all(_steady(stored[h.name].facts) for h in hosts[record.id] if h.name in stored)
            ):
                self._quiet.discard(record.id)
            else:
                self._quiet.add(record.id)
        self.metrics.tally.passed(time.monotonic() - started)
        return PassReport(True, len(records), len(watched), acting, observe_s, time.monotonic() - started)

    def _hold_lease(self, now: dt.datetime) -> bool:
        """Take or renew the lease; False if another supervisor holds it. Taking it anew
        marks every stored look unconfirmed (``host_facts.unverify``) and forgets what this
        one knew, so that the next pass reads and looks at everything; taken from a holder that
        died on this machine, it also ends that holder's healing locks (they would hold their
        clusters until their deadline, minutes away)."""
        here = this_process()
        with self.db.write() as conn:
            dead = None if self._holding else leases.gone_holder(conn, LEASE, here)
            if not leases.hold(conn, LEASE, self.owner, now, self.lease_ttl_s, here):
                if self._holding:
                    log.warning("supervisor %s: lost the lease; standing by", self.owner)
                self._holding = False
                return False
            if not self._holding:
                log.info("supervisor %s: took the lease; supervising", self.owner)
                if dead is not None and dead != self.owner:
                    # Its healings will never end by themselves before their deadline (minutes).
                    for cluster_id in cluster_store.end_healing_by(conn, dead, now):
                        log.warning(
                            "supervisor %s: healing of %s by %s ended: it is gone", self.owner, cluster_id, dead
                        )
                host_facts.unverify(conn)
                for known in (self._records, self._hosts, self._shards, self._rows, self._parsed, self._stamped):
                    known.clear()
                self._holding = True
        return True

    def _read(
        self,
    ) -> tuple[
        list[ClusterRecord],
        dict[str, list[HostRecord]],
        dict[str, list[ShardRecord]],
        dict[str, FactsRow],
        dict[str, op_store.Holder],
    ]:
        """The running clusters, their hosts, shards and stored facts, and who holds which.

        Hosts, shards and facts are read again only for clusters whose revision moved since
        the last pass (``clusters.revision``); the rest is what this supervisor already knows
        (it keeps the facts it writes itself)."""
        with self.db.read() as conn:
            records, stale = self._records_of(conn)
            self._reread = set(stale)
            if stale:
                hosts = cluster_store.hosts_of(conn, stale)
                shards = cluster_store.shards_of(conn, stale)
                rows = host_facts.for_clusters(conn, stale)
                for cluster_id in stale:
                    for host in self._hosts.get(cluster_id, []) + hosts[cluster_id]:
                        self._rows.pop(host.name, None)
                        self._parsed.pop(host.name, None)
                    self._hosts[cluster_id], self._shards[cluster_id] = hosts[cluster_id], shards[cluster_id]
                self._rows.update(rows)
            running = [r.active_operation_id for r in records if r.active_operation_id]
            holders = op_store.holders(conn, running)
        self._forget_all_but({record.id for record in records})
        busy = {r.id: holders[r.active_operation_id] for r in records if r.active_operation_id in holders}
        return records, self._hosts, self._shards, self._rows, busy

    def _records_of(self, conn: Connection) -> tuple[list[ClusterRecord], list[str]]:
        """The running clusters, and the ids of those read in full now (new, or their
        revision moved): their hosts, shards and facts are to be read again too."""
        current = cluster_store.revisions(conn, OBSERVED_STATUSES)
        kept = self._records
        moved = [cluster_id for cluster_id, revision, _ in current if _revision(kept.get(cluster_id)) != revision]
        stale = []
        for record in cluster_store.get_many(conn, moved):
            kept[record.id] = record
            stale.append(record.id)
        records = []
        for cluster_id, _, operation_id in current:
            found = kept.get(cluster_id)
            if found is None:
                continue  # deleted between the two reads
            if found.active_operation_id != operation_id:
                found = kept[cluster_id] = dataclasses.replace(found, active_operation_id=operation_id)
            records.append(found)
        return records, stale

    def _forget_all_but(self, cluster_ids: set[str]) -> None:
        gone_ids = set(self._records) - cluster_ids
        for gone in gone_ids:
            del self._records[gone]
            for host in self._hosts.pop(gone, []):
                self._rows.pop(host.name, None)
                self._parsed.pop(host.name, None)
            self._shards.pop(gone, None)
            self._watched_of.pop(gone, None)
            self._quiet.discard(gone)
        if self._reread or gone_ids:
            self.metrics.stats.forget_all_but(h.name for hosts in self._hosts.values() for h in hosts)

    def _complete(self, watched: list[WatchedHost], facts: dict[str, HostFacts]) -> None:
        """Fill in what a partial look did not ask from the host's last look: a Sentinel left
        be, and all but the answer of a master only pinged."""
        for w in watched:
            found = facts.get(w.name)
            if found is None or not (w.ping_only or (w.sentinel_master is not None and not w.ask_sentinel)):
                continue
            last = self._last_facts(w.name)
            if last is None:
                if w.ping_only:
                    del facts[w.name]  # nothing to complete it from: not stored, looked at in full later
                continue
            redis = found.redis
            if w.ping_only and redis.answered:
                same_files = last.redis.files_present == redis.files_present
                redis = last.redis if same_files else dataclasses.replace(last.redis, files_present=redis.files_present)
            facts[w.name] = last if redis is last.redis else HostFacts(redis, last.sentinel)

    def _last_facts(self, name: str) -> HostFacts | None:
        """What was last seen of host ``name``, parsed once per stored row."""
        if name not in self._parsed and name in self._rows:
            self._parsed[name] = HostFacts.from_json(self._rows[name].facts)
        return self._parsed.get(name)

    def _parsed_facts(self, hosts: list[HostRecord]) -> dict[str, HostFacts]:
        """The stored facts of ``hosts`` as values, parsed once per stored row."""
        for host in hosts:
            self._last_facts(host.name)
        return self._parsed

    def _watched(self, record: ClusterRecord, hosts: list[HostRecord]) -> tuple[list[WatchedHost], list[WatchedHost]]:
        """How to look at the cluster's hosts, in full and with a PING only; built again only
        when its revision moves."""
        kept = self._watched_of.get(record.id)
        if kept is not None and kept[0] == record.revision:
            return kept[1], kept[2]
        credentials = self._credentials_of(record)
        tls = bool(record.spec.get("cluster", {}).get("tlsEnabled"))
        watched = [watched_host(self.deps, record, host, credentials, tls) for host in hosts]
        pinged = [dataclasses.replace(w, ask_sentinel=False, ping_only=True) for w in watched]
        self._watched_of[record.id] = (record.revision, watched, pinged)
        return watched, pinged

    def _to_look_at(
        self, record: ClusterRecord, hosts: list[HostRecord], stored: dict[str, FactsRow], busy: bool
    ) -> list[WatchedHost]:
        """Every host of a cluster that needs an eye (something is amiss, changing, not yet
        looked at by this supervisor, or an operation holds it); of a steady one, its masters
        each pass and the rest in turn, every ``ROTATION`` passes (a death is seen at once
        anyway: the process watch)."""
        watched, pinged = self._watched(record, hosts)
        rows = [stored.get(host.name) for host in hosts]
        steady = not busy and all(row is not None and row.checked_at is not None and _steady(row.facts) for row in rows)
        steady = steady and not any(w.marker in self._exited or w.sentinel_marker in self._exited for w in watched)
        steady = steady and not self.book.pending(record.id)
        steady = steady and record.id not in self._users_pending
        if not steady:
            return watched
        turn = self._pass % ROTATION
        looks = []
        for index, (w, row) in enumerate(zip(watched, rows, strict=True)):
            if index % ROTATION == turn:
                looks.append(w)
            elif row is not None and row.facts["redis"].get("role") == "master":
                looks.append(pinged[index])  # the rest in turn: what it said last stands
        return looks

    def _credentials_of(self, record: ClusterRecord) -> Credentials:
        sealed = record.secrets or b""
        credentials = self._credentials.get(sealed)
        if credentials is None:
            secrets = self.deps.vault.open_sealed(sealed)
            credentials = Credentials(password=secrets["password"], admin_password=secrets["admin_password"])
            self._credentials[sealed] = credentials
        return credentials

    def _store(
        self,
        records: list[ClusterRecord],
        hosts: dict[str, list[HostRecord]],
        stored: dict[str, FactsRow],
        facts: dict[str, HostFacts],
        now: dt.datetime,
    ) -> set[str]:
        """Write what changed, and keep the rows as they now are (``self._rows``); the ids
        of the clusters where something changed. A host whose facts did not change gets its
        times written only every ``STAMP_EVERY_S`` (readers only need to know it is looked at)."""
        sightings, changed_clusters = [], set()
        for record in records:
            for host in hosts[record.id]:
                found = facts.get(host.name)
                if found is None:
                    continue
                previous = stored.get(host.name)
                changed = self._changed(host.name, previous, found)
                data = found.to_json() if changed else previous.facts if previous else {}
                answered = found.redis.answered
                stamped = self._stamped.get(host.name)
                if changed or stamped is None or (now - stamped).total_seconds() >= STAMP_EVERY_S:
                    sightings.append(Sighting(host.name, record.id, answered, data if changed else None))
                    self._stamped[host.name] = now
                if changed:
                    changed_clusters.add(record.id)
                answered_at = now if answered else (previous.answered_at if previous else None)
                self._rows[host.name] = FactsRow(host.name, record.id, now, answered_at, data)
                self._parsed[host.name] = found
        if sightings:
            with self.db.write() as conn:
                host_facts.record(conn, sightings, now)
        return changed_clusters

    def _changed(self, name: str, previous: FactsRow | None, found: HostFacts) -> bool:
        """Whether ``found`` differs from the stored row ``previous`` (counters aside), told
        from the last look held as a value where there is one (no JSON made)."""
        if previous is None or previous.checked_at is None:
            return True
        last = self._parsed.get(name)
        if last is not None:
            return not last.same_as(found)
        return not HostFacts.same(previous.facts, found.to_json())

    def _heal(self, view: ClusterView, now: dt.datetime) -> int:
        running = self._acting.get(view.id)
        if running is not None and not running.done():
            return 0
        actions = self.book.due(view.id, decide(view, self.policy, now), now)
        if not actions:
            return 0
        # Actions safe beside an operation need no lock; the rest take it (and wait if busy).
        lock = any(action.do not in SAFE_WHILE_BUSY for action in actions)
        self._acting[view.id] = self._pool.submit(self._act, view, actions, lock)
        return 1

    # -- acting --------------------------------------------------------------------------------

    def _act(self, view: ClusterView, actions: list[Action], lock: bool) -> None:
        """Carry out ``actions`` in order; under the healing lock unless ``lock`` is False
        (actions safe beside an operation)."""
        now = self.clock.now()
        until = now + dt.timedelta(seconds=sum(healing.deadline_s(action) for action in actions))
        if lock and not self._lock(view, until, now):
            log.debug("supervisor: cluster %s changed or is busy; not healing it this pass", view.id)
            return
        try:
            plan = LoadedCluster.load_to_run(self.db, self.deps, view.id)
            for action in actions:
                log.info("supervisor: cluster %s: %s", view.id, action.reason)
                try:
                    healing.carry_out(self.db, plan, action)
                except Exception as exc:
                    count = self.book.failed(view.id, action, self.clock.now())
                    self.metrics.tally.acted(action.do.name.lower(), ok=False)
                    log.warning("supervisor: cluster %s: %s failed (%d in a row): %s", view.id, action.do, count, exc)
                    if action.do == Do.FENCE:
                        break  # never promote past a master that may still acknowledge writes
                    continue
                self.book.succeeded(view.id, action, self.clock.now())
                self.metrics.tally.acted(action.do.name.lower(), ok=True)
        except LookupError:
            log.info("supervisor: cluster %s is gone", view.id)
        finally:
            if lock:
                with self.db.write() as conn:
                    cluster_store.unlock_healing(conn, view.id, until)

    def _lock(self, view: ClusterView, until: dt.datetime, now: dt.datetime) -> bool:
        """Take the healing lock if the cluster is as it was seen; False otherwise."""
        seen = {(host.name, host.address, host.shard) for host in view.hosts}
        try:
            with self.db.write() as conn:
                if not cluster_store.lock_for_healing(conn, view.id, until, now, HEAL_DURING, self.owner):
                    return False
                current = {(h.name, h.address, h.shard_name) for h in cluster_store.list_hosts(conn, view.id)}
                if current != seen:
                    raise _Changed  # rolls the lock back with the transaction
        except _Changed:
            return False
        return True


class _Changed(InternalError):
    """The cluster's hosts are not those the decision was made on."""
