"""The maintenance scheduler: plans each cluster's maintenance and starts it when it is due.

What a maintenance is, and what its operation does, is in ``handlers/maintenance.py``. One
pass (``run_once``), on the injected clock:

1. settles maintenances whose operation finished: SUCCEEDED (the handler marks that itself),
   or, if it failed or was cancelled, SCHEDULED again for the next window, the cluster
   serving meanwhile (the worker gave it its status back);
2. cancels the SCHEDULED maintenance of a cluster that is gone, or whose hosts already run
   the installed binary (an Update or a Start restarted them);
3. plans one where the installed binary of a cluster's version is newer than what its hosts
   run: to start at the first moment of its maintenance window at least
   ``maintenance_notice_s`` from now; ``max_start_scheduled_at`` is that first time plus 14
   days (the bound api.md §10.3 gives RescheduleMaintenance's ``delayed_until``);
4. starts a SCHEDULED one once ``start_scheduled_at`` has come, its window is open (unless
   the user rescheduled it to IMMEDIATE or a SPECIFIC_TIME), no operation holds the cluster,
   and no change freeze covers now (``store/change_freezes.covering``). A frozen one moves
   to the first window after the freeze's end, and says why in its details
   (``postponed_by_change_freeze``: the freeze's id). A STOPPED cluster's maintenance runs
   no operation: it is done at once (its hosts start on the new binary at Start).

At most one SCHEDULED or RUNNING maintenance per cluster. Starting is recorded in the same
transaction that submits the operation, so two schedulers never start one twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.engine import Connection
from yandex.cloud.maintenance.v2 import common_pb2 as maintenance_pb
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis import ids
from managed_redis.catalog.versions import RedisVersion
from managed_redis.clock import Clock
from managed_redis.domain.cluster_spec import config_spec_of, declared_of
from managed_redis.domain.maintenance_windows import first_open_at_or_after, is_open, next_window_start, windows_of
from managed_redis.errors import FailedPrecondition
from managed_redis.operations.deps import Deps
from managed_redis.operations.handlers.maintenance import KIND_UPDATE_BINARY
from managed_redis.operations.registry import RUN_MAINTENANCE
from managed_redis.operations.scheduler import SCHEDULER, SchedulingTask
from managed_redis.operations.submit import OperationQueue, Submission, conflicting_operation
from managed_redis.statuses import ClusterStatus
from managed_redis.store import change_freezes
from managed_redis.store import clusters as cluster_store
from managed_redis.store import maintenances as store
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord
from managed_redis.store.database import Database
from managed_redis.store.maintenances import MaintenanceRecord, with_detail

log = logging.getLogger(__name__)

MAX_DELAY = dt.timedelta(days=14)
# Details a user's reschedule leaves: the window no longer holds the start back.
RESCHEDULED = "rescheduled"
WINDOW_IGNORED = ("IMMEDIATE", "SPECIFIC_TIME")
FROZEN = "postponed_by_change_freeze"


def _numbers(full_version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in full_version.split("."))


def upgrade_due(record: ClusterRecord, versions: tuple[RedisVersion, ...]) -> tuple[str, RedisVersion] | None:
    """(what the hosts run, the installed version) when the installed binary of the cluster's
    version is newer than what its hosts run; None otherwise (nothing recorded counts as the
    installed one, and a version no longer installed plans nothing)."""
    version_id = config_spec_of(record).version
    installed = next((v for v in versions if v.id == version_id), None)
    if installed is None or record.running_version is None:
        return None
    if _numbers(installed.full_version) <= _numbers(record.running_version):
        return None
    return record.running_version, installed


def first_start(record: ClusterRecord, now: dt.datetime, notice_s: float) -> dt.datetime:
    """The first moment of the cluster's window at least ``notice_s`` seconds after ``now``."""
    return first_open_at_or_after(windows_of(declared_of(record)), now + dt.timedelta(seconds=notice_s))


def new_maintenance(
    record: ClusterRecord, running: str, target: RedisVersion, start: dt.datetime, now: dt.datetime
) -> MaintenanceRecord:
    """The maintenance updating ``record``'s hosts from ``running`` to ``target``."""
    return MaintenanceRecord(
        id=ids.new_id(),
        cluster_id=record.id,
        folder_id=record.folder_id,
        kind=KIND_UPDATE_BINARY,
        description=f"Update {target.flavor.capitalize()} {running} to {target.full_version}",
        status=store.SCHEDULED,
        created_at=now,
        first_scheduled_at=start,
        start_scheduled_at=start,
        max_start_scheduled_at=start + MAX_DELAY,
        details=[{"key": "from_version", "value": running}, {"key": "to_version", "value": target.full_version}],
    )


def start_maintenance(queue: OperationQueue, maintenance_id: str, now: dt.datetime) -> str | None:
    """Submit the operation of SCHEDULED maintenance ``maintenance_id`` on its RUNNING cluster
    and mark it RUNNING, in one transaction; the operation's id, or None when the cluster is
    busy, not RUNNING, or the maintenance is no longer SCHEDULED."""
    operation_id = ids.new_id()
    request = maintenance_pb.GetMaintenanceRequest(maintenance_id=maintenance_id)

    def prepare(conn: Connection) -> Submission:
        maintenance = store.get(conn, maintenance_id)
        if maintenance is None or maintenance.status != store.SCHEDULED:
            raise FailedPrecondition(f"maintenance {maintenance_id} is no longer SCHEDULED")
        cluster = cluster_store.get(conn, maintenance.cluster_id)
        if cluster is None or cluster.status != ClusterStatus.RUNNING:
            raise FailedPrecondition(f"cluster {maintenance.cluster_id} is gone or not RUNNING")
        if cluster.active_operation_id:
            raise conflicting_operation(cluster.id, cluster.active_operation_id)
        cluster_store.update(conn, cluster.id, status=ClusterStatus.UPDATING)
        store.update(conn, maintenance_id, cluster.id, status=store.RUNNING, started_at=now, operation_id=operation_id)
        return Submission.of(
            RUN_MAINTENANCE,
            request,
            service_pb.UpdateClusterMetadata(cluster_id=cluster.id),
            folder_id=cluster.folder_id,
            cluster_id=cluster.id,
            operation_id=operation_id,
            status_before=ClusterStatus.RUNNING,
        )

    try:
        queue.submit(SCHEDULER, RUN_MAINTENANCE.name, request, prepare)
    except FailedPrecondition as not_now:
        log.info("maintenance %s: not started now (%s); a later pass tries again", maintenance_id, not_now.message)
        return None
    log.info("maintenance %s started as operation %s", maintenance_id, operation_id)
    return operation_id


class MaintenanceScheduler(SchedulingTask):
    name = "maintenance-scheduler"

    def __init__(self, db: Database, deps: Deps, queue: OperationQueue, clock: Clock, period_s: float = 60.0) -> None:
        super().__init__(db, deps, queue, clock, period_s)

    def run_once(self) -> list[str]:
        """One pass (see the module's docstring); returns the ids of the operations it started."""
        now = self.clock.now()
        self.settle_finished(now)
        self.plan(now)
        return self.start_due(now)

    def settle_finished(self, now: dt.datetime) -> None:
        """RUNNING maintenances whose operation is done: SUCCEEDED, or SCHEDULED again."""
        with self.db.write() as conn:
            for maintenance in store.all_active(conn):
                if maintenance.status != store.RUNNING or maintenance.operation_id is None:
                    continue
                operation = op_store.get(conn, maintenance.operation_id)
                if operation is None or not operation.done:
                    continue
                if operation.error is None:
                    store.update(
                        conn,
                        maintenance.id,
                        maintenance.cluster_id,
                        status=store.SUCCEEDED,
                        succeeded_at=operation.modified_at,
                    )
                    continue
                cluster = cluster_store.get(conn, maintenance.cluster_id)
                retry = now if cluster is None else next_window_start(windows_of(declared_of(cluster)), now)
                log.info("maintenance %s: operation %s failed; next try at %s", maintenance.id, operation.id, retry)
                store.update(
                    conn,
                    maintenance.id,
                    maintenance.cluster_id,
                    status=store.SCHEDULED,
                    started_at=None,
                    operation_id=None,
                    start_scheduled_at=retry,
                    details=with_detail(maintenance.details, "failed_operation", operation.id),
                )

    def plan(self, now: dt.datetime) -> list[str]:
        """Plan, refresh or cancel each cluster's SCHEDULED maintenance; the ids planned."""
        planned = []
        with self.db.write() as conn:
            clusters = {c.id: c for c in cluster_store.list_all(conn)}
            active = {m.cluster_id: m for m in store.all_active(conn)}
            for maintenance in active.values():
                if maintenance.status == store.SCHEDULED and maintenance.cluster_id not in clusters:
                    store.update(conn, maintenance.id, maintenance.cluster_id, status=store.CANCELLED, cancelled_at=now)
            for cluster in clusters.values():
                if cluster.status in (ClusterStatus.CREATING, ClusterStatus.ERROR):
                    continue
                due = upgrade_due(cluster, self.deps.versions)
                current = active.get(cluster.id)
                if current is not None:
                    if current.folder_id != cluster.folder_id:  # the cluster was moved
                        store.update(conn, current.id, cluster.id, folder_id=cluster.folder_id)
                    self._refresh(conn, current, due, now)
                elif due is not None:
                    record = new_maintenance(
                        cluster, *due, first_start(cluster, now, self.deps.settings.maintenance_notice_s), now
                    )
                    store.insert(conn, record)
                    log.info(
                        "maintenance %s planned for %s: %s at %s",
                        record.id,
                        cluster.id,
                        record.description,
                        record.start_scheduled_at,
                    )
                    planned.append(record.id)
        return planned

    def _refresh(
        self, conn: Connection, current: MaintenanceRecord, due: tuple[str, RedisVersion] | None, now: dt.datetime
    ) -> None:
        """A SCHEDULED maintenance no longer needed is cancelled; one whose target moved says so."""
        if current.status != store.SCHEDULED:
            return
        if due is None:
            store.update(conn, current.id, current.cluster_id, status=store.CANCELLED, cancelled_at=now)
            return
        running, target = due
        if current.detail("to_version") != target.full_version:
            details = with_detail(
                with_detail(current.details, "from_version", running), "to_version", target.full_version
            )
            description = f"Update {target.flavor.capitalize()} {running} to {target.full_version}"
            store.update(conn, current.id, current.cluster_id, description=description, details=details)

    def start_due(self, now: dt.datetime) -> list[str]:
        """Start (or move, or finish for a STOPPED cluster) each SCHEDULED maintenance now due."""
        with self.db.read() as conn:
            due = [m for m in store.all_active(conn) if m.status == store.SCHEDULED and m.start_scheduled_at <= now]
        started = []
        for maintenance in due:
            if self._held_back(maintenance, now):
                continue
            operation_id = start_maintenance(self.queue, maintenance.id, now)
            if operation_id is not None:
                started.append(operation_id)
        return started

    def _held_back(self, maintenance: MaintenanceRecord, now: dt.datetime) -> bool:
        """Whether the maintenance may not start now: it is then moved (closed window, freeze),
        finished (STOPPED cluster) or left for a later pass (cluster busy or changing)."""
        with self.db.write() as conn:
            cluster = cluster_store.get(conn, maintenance.cluster_id)
            if cluster is None:
                return True
            windows = windows_of(declared_of(cluster))
            pinned = maintenance.detail(RESCHEDULED) in WINDOW_IGNORED
            if not pinned and not is_open(windows, now):
                start = first_open_at_or_after(windows, now)
                store.update(conn, maintenance.id, cluster.id, start_scheduled_at=start)
                return True
            freeze = (
                None
                if maintenance.detail(RESCHEDULED) == "IMMEDIATE"
                else change_freezes.covering(conn, cluster.id, now)
            )
            if freeze is not None:
                start = freeze.end_at if pinned else first_open_at_or_after(windows, freeze.end_at)
                log.info(
                    "maintenance %s: change freeze %s until %s; moved to %s",
                    maintenance.id,
                    freeze.id,
                    freeze.end_at,
                    start,
                )
                details = with_detail(maintenance.details, FROZEN, freeze.id)
                store.update(conn, maintenance.id, cluster.id, start_scheduled_at=start, details=details)
                return True
            if cluster.status == ClusterStatus.STOPPED and cluster.active_operation_id is None:
                self._done_while_stopped(conn, maintenance, cluster, now)
                return True
        return False

    def _done_while_stopped(
        self, conn: Connection, maintenance: MaintenanceRecord, cluster: ClusterRecord, now: dt.datetime
    ) -> None:
        """A STOPPED cluster's hosts run nothing: they start on the installed binary at Start."""
        target = maintenance.detail("to_version")
        if target is not None:
            store.set_running_version(conn, cluster.id, target)
        details = with_detail(
            maintenance.details, "applied_while_stopped", "the hosts start on the new binary at Start"
        )
        store.update(
            conn, maintenance.id, cluster.id, status=store.SUCCEEDED, started_at=now, succeeded_at=now, details=details
        )
