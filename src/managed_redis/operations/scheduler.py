"""The backup scheduler: starts each RUNNING cluster's automatic backup in its daily window
and removes backups whose time is up (rules in domain/backup_schedule.py).

Taking a window is recorded in ``backup_windows`` in the same transaction that submits the
backup, so across restarts and several schedulers a window is taken at most once. A window
whose cluster is busy is tried again on the next pass, as long as the window is open.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis import ids
from managed_redis.clock import Clock
from managed_redis.domain.backup_schedule import DEFAULT_WINDOW_HOUR, expires_at, last_window_start, window_open
from managed_redis.domain.cluster_spec import config_spec_of
from managed_redis.errors import FailedPrecondition, InternalError
from managed_redis.operations.deps import Deps
from managed_redis.operations.handlers.backups import remove_backup
from managed_redis.operations.periodic import PeriodicTask
from managed_redis.operations.registry import AUTOMATED_BACKUP
from managed_redis.operations.submit import OperationQueue, Submission, Submitter
from managed_redis.statuses import BackupStatus, ClusterStatus
from managed_redis.store import backups as backup_store
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import ClusterRecord
from managed_redis.store.database import Database

log = logging.getLogger(__name__)

SCHEDULER = Submitter("mredis-scheduler", None)


class SchedulingTask(PeriodicTask):
    """A periodic pass that submits operations when their time comes, on the clock it is given
    (a test moves it): the backup and the maintenance schedulers."""

    def __init__(self, db: Database, deps: Deps, queue: OperationQueue, clock: Clock, period_s: float) -> None:
        super().__init__(period_s)
        self.db = db
        self.deps = deps
        self.queue = queue
        self.clock = clock


class BackupScheduler(SchedulingTask):
    name = "backup-scheduler"

    def __init__(self, db: Database, deps: Deps, queue: OperationQueue, clock: Clock, period_s: float = 30.0) -> None:
        super().__init__(db, deps, queue, clock, period_s)

    def run_once(self) -> list[str]:
        """One pass; returns the ids of the backup operations it started."""
        started = self.start_due_backups()
        self.remove_expired()
        return started

    def start_due_backups(self) -> list[str]:
        now = self.clock.now()
        with self.db.read() as conn:
            clusters = [c for c in cluster_store.list_all(conn) if c.status == ClusterStatus.RUNNING]
        started = []
        for cluster in clusters:
            spec = config_spec_of(cluster)
            configured = spec.HasField("backup_window_start")
            window = last_window_start(
                now,
                spec.backup_window_start.hours if configured else DEFAULT_WINDOW_HOUR,
                spec.backup_window_start.minutes if configured else 0,
            )
            if not window_open(now, window) or cluster.created_at > window:
                continue
            operation_id = self._submit(cluster, window)
            if operation_id:
                started.append(operation_id)
        return started

    def _submit(self, cluster: ClusterRecord, window: dt.datetime) -> str | None:
        operation_id = ids.new_id()
        request = service_pb.BackupClusterRequest(cluster_id=cluster.id)

        def prepare(conn: Connection) -> Submission:
            if backup_store.window_taken(conn, cluster.id, window):
                raise _WindowTaken
            backup_store.take_window(conn, cluster.id, window, operation_id)
            return Submission.of(
                AUTOMATED_BACKUP,
                request,
                service_pb.BackupClusterMetadata(cluster_id=cluster.id),
                folder_id=cluster.folder_id,
                cluster_id=cluster.id,
                operation_id=operation_id,
            )

        try:
            self.queue.submit(SCHEDULER, AUTOMATED_BACKUP.name, request, prepare)
        except (_WindowTaken, IntegrityError):
            return None
        except FailedPrecondition as busy:
            log.info("backup scheduler: cluster %s is busy (%s); will try again", cluster.id, busy.message)
            return None
        log.info("backup scheduler: automatic backup of %s started (window %s)", cluster.id, window)
        return operation_id

    def remove_expired(self) -> list[str]:
        """Remove every backup whose time is up; returns their ids."""
        now = self.clock.now()
        with self.db.read() as conn:
            backups = [b for b in backup_store.all_backups(conn) if b.status == BackupStatus.DONE]
            clusters = {c.id: c for c in cluster_store.list_all(conn)}
            policies = backup_store.list_policies(conn)
        removed = []
        for backup in backups:
            cluster = clusters.get(backup.source_cluster_id)
            if cluster is None and backup.cluster_deleted_at is None:
                with self.db.write() as conn:
                    backup_store.mark_cluster_deleted(conn, backup.source_cluster_id, now)
                continue
            retain = None
            if cluster is not None:
                spec = config_spec_of(cluster)
                retain = spec.backup_retain_period_days.value if spec.HasField("backup_retain_period_days") else None
            mine = [p for p in policies if p.cluster_id == backup.source_cluster_id]
            expiry = expires_at(backup, retain, mine)
            if expiry is not None and now >= expiry:
                log.info("backup scheduler: backup %s expired at %s; removing it", backup.id, expiry)
                remove_backup(self.db, self.deps.backups, backup)
                removed.append(backup.id)
        return removed


class _WindowTaken(InternalError):
    """Another pass (or scheduler) already took this window."""
