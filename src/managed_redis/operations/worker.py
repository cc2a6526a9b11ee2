"""The worker: claims operations with a lease, runs their handlers, finishes them.

Runs as threads inside ``mredis serve`` and as ``mredis worker`` processes on the same
database. Each thread loops: claim the oldest claimable operation of a kind it knows, run
its handler, store the response (an ``Any``) or the error (a ``google.rpc.Status``). A
heartbeat renews the leases of running operations; an operation whose worker died is
claimed again when its lease expires and resumes from its last checkpoint, within its
kind's attempt cap and deadline (``limits.py``): past either it is failed, not run. The
heartbeat stops renewing an operation past its deadline, so that one hung in a handler is
claimed (and failed) by another worker.

An operation whose worker died on this machine (``lease_holders.py``: a control plane killed
and started again, a crashed ``mredis worker``) is taken back within ``RELEASE_GONE_EVERY_S``
by any worker here, not after its lease: the lease records which process holds it.
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
from collections.abc import Mapping
from typing import Any

from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import status_pb2

from managed_redis.clock import SYSTEM_CLOCK, Clock
from managed_redis.engine.errors import EngineError
from managed_redis.errors import ApiError, DeadlineExceeded, Internal, without_paths
from managed_redis.lease_holders import this_process
from managed_redis.operations.context import LeaseLost, OperationContext
from managed_redis.operations.deps import Deps
from managed_redis.operations.health import cluster_health
from managed_redis.operations.kinds import OperationKind
from managed_redis.operations.limits import status_after_giving_up
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.observing import look
from managed_redis.operations.views import cluster_view
from managed_redis.statuses import ClusterStatus
from managed_redis.store import clusters as cluster_store
from managed_redis.store import host_facts
from managed_redis.store import operations as op_store
from managed_redis.store.database import Database
from managed_redis.store.operations import OperationRecord

log = logging.getLogger(__name__)

# How often a worker looks for leases of dead processes of its machine to end.
RELEASE_GONE_EVERY_S = 2.0


def status_of(error: ApiError) -> status_pb2.Status:
    # The caller's copy names no server path (an engine's "see /…/redis.log"); _fail logs it whole.
    status = status_pb2.Status(code=error.code, message=without_paths(error.message))
    for detail in error.details:
        status.details.add().Pack(detail)
    return status


# The kinds a worker runs differ in their request and response types.
AnyKind = OperationKind[Any, Any, Any]


class Worker:
    def __init__(
        self,
        db: Database,
        kinds: Mapping[str, AnyKind],
        deps: Deps | None = None,
        *,
        threads: int = 4,
        lease_s: float = 30.0,
        poll_s: float = 0.5,
        clock: Clock = SYSTEM_CLOCK,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.kinds = dict(kinds)
        self.heal_during = frozenset(name for name, kind in self.kinds.items() if kind.heal_during)
        self.deps = deps
        self.thread_count = threads
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.clock = clock
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._pending_wakeups = 0
        # When the next idle poll of the store is due (time.monotonic()), whichever thread takes it.
        self._next_poll = 0.0
        # operation id -> (lease owner, deadline)
        self._running: dict[str, tuple[str, dt.datetime]] = {}
        self._running_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.holder = this_process()
        self._next_release = 0.0  # time.monotonic() of the next look for dead holders' leases
        self._release_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if not self.kinds:
            log.info("worker %s: no operation kinds to run", self.name)
        for index in range(self.thread_count):
            thread = threading.Thread(target=self._loop, args=(index,), name=f"worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        heartbeat = threading.Thread(target=self._heartbeat, name="worker-heartbeat", daemon=True)
        heartbeat.start()
        self._threads.append(heartbeat)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop claiming; wait up to ``timeout_s`` in all for running handlers. Unfinished ones
        resume from their checkpoint once their lease expires."""
        self._stop.set()
        self.notify()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def notify(self) -> None:
        """Wake an idle thread now instead of at its next poll (called after a submit)."""
        with self._wake:
            self._pending_wakeups += 1
            self._wake.notify()

    # -- the loop --------------------------------------------------------------------------

    def _loop(self, index: int) -> None:
        owner = f"{self.name}/{index}"
        while not self._stop.is_set():
            try:
                ran = self.run_one(owner)
            except Exception:
                log.exception("worker %s: unexpected failure; continuing", owner)
                ran = False
            if not ran:
                self._idle()

    def _idle(self) -> None:
        """Wait for a submit's wake-up (``notify``) or for this thread's turn to poll: the idle
        threads take turns, so the store is asked once per ``poll_s`` however many wait."""
        with self._wake:
            while self._pending_wakeups == 0 and not self._stop.is_set():
                wait_s = self._next_poll - time.monotonic()
                if wait_s <= 0:
                    self._next_poll = time.monotonic() + self.poll_s
                    return
                self._wake.wait(wait_s)
            self._pending_wakeups = max(0, self._pending_wakeups - 1)

    def run_one(self, owner: str) -> bool:
        """Claim and run one operation; False when there was nothing to claim."""
        self._release_gone_holders()
        with self.db.write() as conn:
            record = op_store.claim_next(
                conn,
                owner,
                self.clock.now(),
                self.lease_s,
                set(self.kinds),
                heal_during=self.heal_during,
                holder=self.holder,
            )
        if record is None:
            return False
        kind = self.kinds[record.kind]
        with self._running_lock:
            self._running[record.id] = (owner, kind.limits.deadline_of(record))
        try:
            exceeded = kind.limits.exceeded(record, self.clock.now())
            if exceeded is not None:
                self._give_up(record, owner, kind, exceeded)
            else:
                self._run(record, owner)
        finally:
            with self._running_lock:
                self._running.pop(record.id, None)
        return True

    def _run(self, record: OperationRecord, owner: str) -> None:
        kind = self.kinds[record.kind]
        request = kind.request_type.FromString(record.request)
        deadline = (kind.limits.deadline_of(record), kind.limits.deadline_s)
        ctx = OperationContext(self.db, record, owner, request, self.deps, self.clock, deadline)
        log.info("operation %s (%s): attempt %d started", record.id, record.kind, record.attempts)
        try:
            response = kind.run(ctx)
        except LeaseLost:
            log.warning("operation %s: lease lost; another worker carries on", record.id)
            return
        except ApiError as error:
            self._fail(ctx, kind, error, gave_up=isinstance(error, DeadlineExceeded))
            return
        except EngineError as error:
            # The data plane said why (which host, what happened); that is the caller's answer.
            self._fail(ctx, kind, Internal(str(error)))
            return
        except Exception:
            reference = uuid.uuid4().hex[:12]
            log.exception("operation %s failed unexpectedly (reference %s)", record.id, reference)
            self._fail(ctx, kind, Internal.logged_under(reference))
            return
        packed = any_pb2.Any()
        packed.Pack(response)
        with self.db.write() as conn:
            finished = op_store.finish(conn, record, owner, self.clock.now(), response=packed.SerializeToString())
        if finished:
            log.info("operation %s (%s): done", record.id, record.kind)
        else:
            log.warning("operation %s: finished after losing its lease; result dropped", record.id)

    def _fail(self, ctx: OperationContext[Message], kind: AnyKind, error: ApiError, gave_up: bool = False) -> None:
        """Finish with ``error`` after the kind's failure hook; without one, the cluster gets
        its status back, or (``gave_up``: a limit was passed) the status its health allows."""
        record = ctx.record
        log.info("operation %s (%s) failed: %s", record.id, record.kind, error.message)
        try:
            if kind.on_error is not None:
                kind.on_error(ctx, error)
            elif gave_up:
                self._settle_cluster(record)
            else:
                self._restore_status(record)
        except LeaseLost:
            return
        except Exception:
            log.exception("operation %s: cleanup after failure failed", record.id)
        with self.db.write() as conn:
            op_store.finish(conn, record, ctx.owner, self.clock.now(), error=status_of(error).SerializeToString())

    def _give_up(self, record: OperationRecord, owner: str, kind: AnyKind, error: ApiError) -> None:
        """Fail an operation past its attempt cap or deadline instead of running it again."""
        log.warning("operation %s (%s): %s", record.id, record.kind, error.message)
        if not kind.limits.cleanup_abandoned(record):
            request = kind.request_type.FromString(record.request)
            ctx = OperationContext(self.db, record, owner, request, self.deps, self.clock)
            self._fail(ctx, kind, error, gave_up=True)
            return
        try:
            self._settle_cluster(record)
        except Exception:
            log.exception("operation %s: could not settle its cluster's status", record.id)
        with self.db.write() as conn:
            op_store.finish(conn, record, owner, self.clock.now(), error=status_of(error).SerializeToString())

    def _settle_cluster(self, record: OperationRecord) -> None:
        """Leave the cluster of an operation that gave up in a status a user can act on."""
        if not record.cluster_id:
            return
        status_before = (record.progress.get("undo") or {}).get("status_before")
        with self.db.read() as conn:
            cluster = cluster_store.get(conn, record.cluster_id)
            if cluster is None:
                return
            hosts = cluster_store.hosts_of(conn, [cluster.id])[cluster.id]
            shards = cluster_store.shards_of(conn, [cluster.id])[cluster.id]
            facts = host_facts.for_clusters(conn, [cluster.id])
        view = cluster_view(cluster, hosts, shards, facts)
        if self.deps is not None:
            try:  # a look now: a control plane just restarted has no look of its own yet
                view = look(self.db, LoadedCluster.load(self.db, self.deps, cluster.id), self.clock)
            except Exception:
                log.exception(
                    "operation %s: could not look at cluster %s; judging it by its last look", record.id, cluster.id
                )
        # Judged as a running cluster would be: whether its hosts serve, whatever the operation set.
        health = cluster_health(dataclasses.replace(view, status=ClusterStatus.RUNNING), self.clock.now())
        status = status_after_giving_up(status_before, health)
        log.info("operation %s gave up: cluster %s is left %s", record.id, cluster.id, status)
        with self.db.write() as conn:
            cluster_store.update(conn, cluster.id, status=status)

    def _restore_status(self, record: OperationRecord) -> None:
        """Without a handler of its own, a failed operation puts the cluster status back."""
        status_before = (record.progress.get("undo") or {}).get("status_before")
        if record.cluster_id and status_before:
            with self.db.write() as conn:
                cluster_store.update(conn, record.cluster_id, status=status_before)

    # -- leases ----------------------------------------------------------------------------

    def _release_gone_holders(self) -> None:
        """Every ``RELEASE_GONE_EVERY_S``, in whichever thread comes first: end the leases that
        processes of this machine held when they died, so that their operations are claimed now."""
        if self.holder is None or time.monotonic() < self._next_release:
            return
        if not self._release_lock.acquire(blocking=False):
            return
        try:
            self._next_release = time.monotonic() + RELEASE_GONE_EVERY_S
            with self.db.write() as conn:
                released = op_store.release_gone_holders(conn, self.holder, self.clock.now())
            for op_id, gone_owner in released:
                log.warning("operation %s: its worker %s is gone; claimable again now", op_id, gone_owner)
        finally:
            self._release_lock.release()

    def _heartbeat(self) -> None:
        period = max(self.lease_s / 3, 0.05)
        while not self._stop.wait(period):
            with self._running_lock:
                running = dict(self._running)
            for op_id, (owner, deadline) in running.items():
                if self.clock.now() >= deadline:
                    # Past its deadline: let the lease lapse, so that a hung handler's
                    # operation is claimed, and failed, by another worker.
                    log.warning("operation %s: past its deadline; its lease is no longer renewed", op_id)
                    continue
                try:
                    with self.db.write() as conn:
                        alive = op_store.renew_lease(conn, op_id, owner, self.clock.now(), self.lease_s)
                    if not alive:
                        log.warning("operation %s: could not renew the lease", op_id)
                except Exception:
                    log.exception("operation %s: lease renewal failed", op_id)
