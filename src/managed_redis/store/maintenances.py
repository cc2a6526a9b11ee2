"""Maintenances as stored (the ``maintenances`` table) and the queries on them.

A row is one planned maintenance of a cluster: what it does (``kind``, ``description``,
``details`` as ``[{key, value}]``), when it is to start, its status (SCHEDULED, RUNNING,
SUCCEEDED, CANCELLED) and the operation that ran it. A cluster has at most one SCHEDULED
or RUNNING row (``active_of``). Every write that changes what a cluster's reads show
(its ``planned_operation``) bumps the cluster's revision, so cached renderings go stale.

The cluster's ``running_version`` column (the full server version its hosts run, written by
the operations that start them) is set here too (``set_running_version``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from managed_redis.store import clusters as cluster_store
from managed_redis.store.database import Database
from managed_redis.store.schema import clusters, maintenances

SCHEDULED = "SCHEDULED"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
CANCELLED = "CANCELLED"
ACTIVE = (SCHEDULED, RUNNING)


@dataclass(frozen=True)
class MaintenanceRecord:
    """One maintenance; times are aware UTC datetimes, ``details`` a list of ``{key, value}``."""

    id: str
    cluster_id: str
    folder_id: str
    kind: str
    description: str
    status: str
    created_at: dt.datetime
    first_scheduled_at: dt.datetime
    start_scheduled_at: dt.datetime
    max_start_scheduled_at: dt.datetime
    details: list[dict[str, str]] = field(default_factory=list)
    started_at: dt.datetime | None = None
    succeeded_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    operation_id: str | None = None

    def detail(self, key: str) -> str | None:
        """The value of detail ``key``, or None."""
        return next((d["value"] for d in self.details if d.get("key") == key), None)


def with_detail(details: list[dict[str, str]], key: str, value: str | None) -> list[dict[str, str]]:
    """``details`` with ``key`` set to ``value`` (None: removed), other keys kept in order."""
    kept = [d for d in details if d.get("key") != key]
    return kept if value is None else [*kept, {"key": key, "value": value}]


def _record(row: RowMapping) -> MaintenanceRecord:
    return MaintenanceRecord(**dict(row))


def insert(conn: Connection, record: MaintenanceRecord) -> None:
    """Add the row and bump its cluster's revision. Raises IntegrityError if the id is taken."""
    conn.execute(maintenances.insert().values(**asdict(record)))
    cluster_store.bump(conn, [record.cluster_id])


def get(conn: Connection, maintenance_id: str) -> MaintenanceRecord | None:
    """The maintenance ``maintenance_id``, or None."""
    row = conn.execute(sa.select(maintenances).where(maintenances.c.id == maintenance_id)).mappings().first()
    return _record(row) if row else None


def active_of(conn: Connection, cluster_id: str) -> MaintenanceRecord | None:
    """The cluster's SCHEDULED or RUNNING maintenance, or None."""
    return active_for(conn, [cluster_id]).get(cluster_id)


def active_for(conn: Connection, cluster_ids: list[str]) -> dict[str, MaintenanceRecord]:
    """cluster id -> its SCHEDULED or RUNNING maintenance, for those of ``cluster_ids`` that have one."""
    if not cluster_ids:
        return {}
    query = (
        sa.select(maintenances)
        .where(maintenances.c.cluster_id.in_(cluster_ids), maintenances.c.status.in_(ACTIVE))
        .order_by(maintenances.c.created_at)
    )
    return {row["cluster_id"]: _record(row) for row in conn.execute(query).mappings()}


def all_active(conn: Connection) -> list[MaintenanceRecord]:
    """Every SCHEDULED or RUNNING maintenance, by start then id."""
    query = (
        sa.select(maintenances)
        .where(maintenances.c.status.in_(ACTIVE))
        .order_by(maintenances.c.start_scheduled_at, maintenances.c.id)
    )
    return [_record(row) for row in conn.execute(query).mappings()]


ORDER_FIELDS = ("created_at", "start_scheduled_at", "started_at")


def listed(
    conn: Connection,
    *,
    folder_id: str | None = None,
    cluster_id: str | None = None,
    status: str | None = None,
    order_by: str = "created_at",
    descending: bool = False,
) -> list[MaintenanceRecord]:
    """The maintenances of a folder or of one cluster (status ``status`` if given), ordered
    by ``order_by`` (one of ``ORDER_FIELDS``), ties by id."""
    query = sa.select(maintenances)
    if folder_id is not None:
        query = query.where(maintenances.c.folder_id == folder_id)
    if cluster_id is not None:
        query = query.where(maintenances.c.cluster_id == cluster_id)
    if status is not None:
        query = query.where(maintenances.c.status == status)
    column = maintenances.c[order_by]
    query = query.order_by(column.desc() if descending else column, maintenances.c.id)
    return [_record(row) for row in conn.execute(query).mappings()]


def update(conn: Connection, maintenance_id: str, cluster_id: str, **values: Any) -> None:
    """Set ``values`` (column -> value) on the maintenance and bump its cluster's revision."""
    conn.execute(maintenances.update().where(maintenances.c.id == maintenance_id).values(**values))
    cluster_store.bump(conn, [cluster_id])


def set_running_version(conn: Connection, cluster_id: str, full_version: str, *, only_if_unknown: bool = False) -> None:
    """Record that the cluster's hosts run ``full_version`` (``7.0.15``); ``only_if_unknown``:
    only when nothing was recorded (hosts added beside older ones do not speak for them)."""
    query = clusters.update().where(clusters.c.id == cluster_id)
    if only_if_unknown:
        query = query.where(clusters.c.running_version.is_(None))
    conn.execute(query.values(running_version=full_version, revision=clusters.c.revision + 1))


def record_running(db: Database, cluster_id: str, full_version: str, *, only_if_unknown: bool = False) -> None:
    """``set_running_version`` in a transaction of its own: what the operations that start or
    restart hosts (create, restore, start, update, maintenance, host adds) call when done."""
    with db.write() as conn:
        set_running_version(conn, cluster_id, full_version, only_if_unknown=only_if_unknown)
