"""Counts of finished operations by folder, kind and result, and their durations, kept up to
date from the operations table a little at a time.

Every worker (the embedded one, each ``mredis worker``) writes its operations to the one
table, so counting from it counts them all. The first scrape reads every finished
operation; each later one only those finished since the last read (less ``OVERLAP_S``, for
a transaction that committed late), but the ids it already counted (the query leaves them
out: a scrape reads no row when no operation finished).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from managed_redis.services.metric_families import Durations
from managed_redis.store import metrics_reads
from managed_redis.store.database import Database

# Seconds: an operation finished this long before the newest one counted is read again
# (and skipped if already counted), so one whose transaction committed late is not missed.
OVERLAP_S = 60.0


@dataclass(frozen=True)
class OperationCounts:
    """What one folder's operations add up to."""

    # (kind, "ok" | "error") -> finished operations.
    finished: dict[tuple[str, str], int]
    # kind -> durations of the finished ones.
    durations: dict[str, Durations]
    # kind -> operations not done yet.
    running: dict[str, int]


class OperationTally:
    """Finished operations counted per (folder, kind); thread-safe."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._finished: dict[tuple[str, str, str], int] = {}
        self._durations: dict[tuple[str, str], Durations] = {}
        # Ids counted that finished within OVERLAP_S of the newest: what a re-read may see again.
        self._recent: dict[str, dt.datetime] = {}
        self._newest: dt.datetime | None = None

    def counts(self, folder_visible: Callable[[str], bool], conn: Connection | None = None) -> OperationCounts:
        """The operations of the folders ``folder_visible`` accepts, as of now (reads the
        operations finished since the last call, and those running, on ``conn`` or in a
        transaction of its own)."""
        with self._lock:
            if conn is None:
                with self.db.read() as own:
                    running = self._refresh(own)
            else:
                running = self._refresh(conn)
            finished: dict[tuple[str, str], int] = {}
            for (folder, kind, result), count in self._finished.items():
                if folder_visible(folder):
                    finished[(kind, result)] = finished.get((kind, result), 0) + count
            durations: dict[str, Durations] = {}
            for (folder, kind), found in self._durations.items():
                if folder_visible(folder):
                    durations.setdefault(kind, Durations.empty()).merge(found)
        now_running: dict[str, int] = {}
        for (folder, kind), count in running.items():
            if folder_visible(folder):
                now_running[kind] = now_running.get(kind, 0) + count
        return OperationCounts(finished, durations, now_running)

    def _refresh(self, conn: Connection) -> dict[tuple[str, str], int]:
        since = self._newest - dt.timedelta(seconds=OVERLAP_S) if self._newest is not None else None
        rows = metrics_reads.finished_since(conn, since, skip=self._recent.keys())
        running = metrics_reads.running_by_kind(conn)
        for row in rows:
            if row.id in self._recent:
                continue
            key = (row.folder_id, row.kind, "ok" if row.ok else "error")
            self._finished[key] = self._finished.get(key, 0) + 1
            seconds = max(0.0, (row.modified_at - row.created_at).total_seconds())
            self._durations.setdefault((row.folder_id, row.kind), Durations.empty()).add(seconds)
            self._recent[row.id] = row.modified_at
            if self._newest is None or row.modified_at > self._newest:
                self._newest = row.modified_at
        if self._newest is not None:
            oldest = self._newest - dt.timedelta(seconds=OVERLAP_S)
            self._recent = {op_id: at for op_id, at in self._recent.items() if at >= oldest}
        return running
