"""Rows of the backups, backup_windows and retention_policies tables, and their queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from managed_redis.statuses import BackupStatus, BackupType
from managed_redis.store.schema import backup_windows, backups, retention_policies


@dataclass(frozen=True)
class BackupFile:
    """One shard's snapshot in the backup store (an entry of ``backups.files``): its object
    ``key``, the SHA-256 and size of what was stored (zstd-compressed) and of the RDB before
    compression, the host it was taken from, and the slot ranges the shard held (sharded)."""

    shard: str
    key: str
    sha256: str
    stored_bytes: int
    raw_bytes: int
    source_host: str = ""
    slots: tuple[tuple[int, int], ...] = ()

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> BackupFile:
        """The entry as stored; older entries lack ``source_host`` and ``slots``."""
        return cls(
            shard=entry["shard"],
            key=entry["key"],
            sha256=entry["sha256"],
            stored_bytes=entry["stored_bytes"],
            raw_bytes=entry["raw_bytes"],
            source_host=entry.get("source_host", ""),
            slots=tuple((first, last) for first, last in entry.get("slots", [])),
        )

    def to_json(self) -> dict[str, Any]:
        """The entry as stored: a JSON object, slot ranges as ``[first, last]`` lists."""
        return {
            "shard": self.shard,
            "key": self.key,
            "sha256": self.sha256,
            "stored_bytes": self.stored_bytes,
            "raw_bytes": self.raw_bytes,
            "source_host": self.source_host,
            "slots": [[first, last] for first, last in self.slots],
        }


@dataclass
class BackupRecord:
    id: str
    folder_id: str
    source_cluster_id: str
    type: BackupType
    status: BackupStatus
    started_at: dt.datetime
    created_at: dt.datetime | None = None
    files: list[BackupFile] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    cluster_deleted_at: dt.datetime | None = None

    @property
    def shard_names(self) -> list[str]:
        """The shards the backup has a file of, in the order its files were written."""
        return [entry.shard for entry in self.files]


def _record(row: RowMapping) -> BackupRecord:
    values = dict(row)
    values["files"] = [BackupFile.from_json(entry) for entry in values["files"]]
    return BackupRecord(**values)


def insert(conn: Connection, record: BackupRecord) -> None:
    """Add the backup row. Raises sqlalchemy's IntegrityError if its id is taken."""
    conn.execute(backups.insert().values(**{**record.__dict__, "files": [f.to_json() for f in record.files]}))


def get(conn: Connection, backup_id: str) -> BackupRecord | None:
    """The backup ``backup_id``, or None."""
    row = conn.execute(sa.select(backups).where(backups.c.id == backup_id)).mappings().first()
    return _record(row) if row else None


def mark_done(conn: Connection, backup_id: str, files: list[BackupFile], created_at: dt.datetime) -> None:
    """Record backup ``backup_id``'s ``files`` and mark it DONE: it is listed from now on."""
    update(conn, backup_id, files=[f.to_json() for f in files], status=BackupStatus.DONE, created_at=created_at)


def update(conn: Connection, backup_id: str, **values: Any) -> None:
    """Set ``values`` (column -> value) on backup ``backup_id``; none there is no error."""
    conn.execute(backups.update().where(backups.c.id == backup_id).values(**values))


def delete(conn: Connection, backup_id: str) -> None:
    """Remove backup ``backup_id``'s row; none there is no error."""
    conn.execute(backups.delete().where(backups.c.id == backup_id))


def list_done(
    conn: Connection,
    limit: int,
    after: tuple[dt.datetime, str] | None,
    *,
    folder_id: str | None = None,
    cluster_id: str | None = None,
) -> list[BackupRecord]:
    """Finished backups, newest first; ``after`` is the last (created_at, id) already seen."""
    query = sa.select(backups).where(backups.c.status == BackupStatus.DONE)
    if folder_id is not None:
        query = query.where(backups.c.folder_id == folder_id)
    if cluster_id is not None:
        query = query.where(backups.c.source_cluster_id == cluster_id)
    if after is not None:
        created_at, last_id = after
        query = query.where(
            sa.or_(
                backups.c.created_at < created_at,
                sa.and_(backups.c.created_at == created_at, backups.c.id < last_id),
            )
        )
    query = query.order_by(backups.c.created_at.desc(), backups.c.id.desc()).limit(limit)
    return [_record(row) for row in conn.execute(query).mappings()]


def all_backups(conn: Connection) -> list[BackupRecord]:
    """Every backup, oldest started first."""
    return [_record(row) for row in conn.execute(sa.select(backups).order_by(backups.c.started_at)).mappings()]


def mark_cluster_deleted(conn: Connection, cluster_id: str, when: dt.datetime) -> None:
    """Note on ``cluster_id``'s backups that the cluster went at ``when`` (those already marked
    keep their time)."""
    conn.execute(
        backups.update()
        .where(backups.c.source_cluster_id == cluster_id, backups.c.cluster_deleted_at.is_(None))
        .values(cluster_deleted_at=when)
    )


def window_taken(conn: Connection, cluster_id: str, window_start: dt.datetime) -> bool:
    """Whether the backup window of ``cluster_id`` that starts at ``window_start`` was used."""
    query = sa.select(backup_windows.c.operation_id).where(
        backup_windows.c.cluster_id == cluster_id, backup_windows.c.window_start == window_start
    )
    return conn.execute(query).first() is not None


def take_window(conn: Connection, cluster_id: str, window_start: dt.datetime, operation_id: str) -> None:
    """Record the window as used; a second taker fails on the primary key.
    Raises sqlalchemy's IntegrityError if another already took it."""
    conn.execute(
        backup_windows.insert().values(cluster_id=cluster_id, window_start=window_start, operation_id=operation_id)
    )


@dataclass
class RetentionPolicyRecord:
    id: str
    cluster_id: str
    folder_id: str
    name: str
    retain_for_days: int
    created_at: dt.datetime
    description: str = ""
    minute: str = "*"
    hour: str = "*"
    day_of_month: str = "*"
    month: str = "*"
    day_of_week: str = "*"


def insert_policy(conn: Connection, record: RetentionPolicyRecord) -> None:
    """Add the retention policy row. Raises sqlalchemy's IntegrityError if its id is taken."""
    conn.execute(retention_policies.insert().values(**record.__dict__))


def get_policy(conn: Connection, policy_id: str) -> RetentionPolicyRecord | None:
    """The retention policy ``policy_id``, or None."""
    row = conn.execute(sa.select(retention_policies).where(retention_policies.c.id == policy_id)).mappings().first()
    return RetentionPolicyRecord(**dict(row)) if row else None


def list_policies(
    conn: Connection, *, cluster_id: str | None = None, folder_id: str | None = None
) -> list[RetentionPolicyRecord]:
    """Retention policies of ``cluster_id`` and/or ``folder_id`` (every one if neither), oldest
    first."""
    query = sa.select(retention_policies)
    if cluster_id is not None:
        query = query.where(retention_policies.c.cluster_id == cluster_id)
    if folder_id is not None:
        query = query.where(retention_policies.c.folder_id == folder_id)
    query = query.order_by(retention_policies.c.created_at, retention_policies.c.id)
    return [RetentionPolicyRecord(**dict(row)) for row in conn.execute(query).mappings()]


def delete_policy(conn: Connection, policy_id: str) -> None:
    """Remove the retention policy ``policy_id``; none there is no error."""
    conn.execute(retention_policies.delete().where(retention_policies.c.id == policy_id))
