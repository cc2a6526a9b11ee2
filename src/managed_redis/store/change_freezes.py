"""Change freezes as stored: one row per freeze of a resource (a cluster), and its queries.

A row keeps the span the caller asked for (``[start_at, end_at)``, UTC), the reason, who
created and last changed it, and ``terminated_at`` once ``Terminate`` ended it early. The
``folder_id`` column keeps the folder at creation; readers get the cluster's folder now,
and see a freeze only while its cluster exists. The ``status`` column holds only what time
cannot tell: ``SCHEDULED`` as created, and
``CANCELLED`` (terminated before its start) or ``COMPLETED`` (terminated while active)
after a termination; the status a reader sees at a moment is
``domain.change_freezes.status_at``. A freeze is *in force* until terminated: ``covering``
(what the maintenance scheduler asks) and the overlap, gap and yearly checks look only at
freezes in force, with the used part of terminated ones counting towards the year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from managed_redis.store.schema import change_freezes, clusters


@dataclass(frozen=True)
class ChangeFreezeRecord:
    """One change freeze: ``resource_id`` is the cluster id, times are aware UTC datetimes."""

    id: str
    resource_id: str
    folder_id: str
    start_at: dt.datetime
    end_at: dt.datetime
    reason: str
    status: str
    created_by: str
    created_at: dt.datetime
    updated_by: str | None = None
    updated_at: dt.datetime | None = None
    terminated_at: dt.datetime | None = None


# Freezes as readers see them: only those whose cluster still exists, in the folder the
# cluster is in now (a moved cluster takes its freezes along).
_VISIBLE = sa.select(*(c for c in change_freezes.c if c.name != "folder_id"), clusters.c.folder_id).join_from(
    change_freezes, clusters, change_freezes.c.resource_id == clusters.c.id
)


def _record(row: RowMapping) -> ChangeFreezeRecord:
    return ChangeFreezeRecord(**dict(row))


def insert(conn: Connection, record: ChangeFreezeRecord) -> None:
    """Add the freeze's row. Raises sqlalchemy's IntegrityError if its id is taken."""
    conn.execute(change_freezes.insert().values(**asdict(record)))


def get(conn: Connection, freeze_id: str) -> ChangeFreezeRecord | None:
    """The freeze ``freeze_id``, or None (also when its cluster is gone)."""
    row = conn.execute(_VISIBLE.where(change_freezes.c.id == freeze_id)).mappings().first()
    return _record(row) if row else None


def of_resource(conn: Connection, resource_id: str) -> list[ChangeFreezeRecord]:
    """Every freeze of the resource, terminated ones too, by start then id."""
    query = _VISIBLE.where(change_freezes.c.resource_id == resource_id).order_by(
        change_freezes.c.start_at, change_freezes.c.id
    )
    return [_record(row) for row in conn.execute(query).mappings()]


def listed(
    conn: Connection, *, resource_ids: list[str] | None = None, folder_ids: list[str] | None = None
) -> list[ChangeFreezeRecord]:
    """The freezes of any of ``resource_ids`` or of the clusters now in any of ``folder_ids``,
    by creation then id."""
    conditions = []
    if resource_ids:
        conditions.append(change_freezes.c.resource_id.in_(resource_ids))
    if folder_ids:
        conditions.append(clusters.c.folder_id.in_(folder_ids))
    if not conditions:
        return []
    query = _VISIBLE.where(sa.or_(*conditions)).order_by(change_freezes.c.created_at, change_freezes.c.id)
    return [_record(row) for row in conn.execute(query).mappings()]


def covering(conn: Connection, resource_id: str, at: dt.datetime) -> ChangeFreezeRecord | None:
    """The freeze of ``resource_id`` in force whose span ``[start_at, end_at)`` contains the
    moment ``at`` (aware UTC), the one ending last if several; None when no freeze covers it.

    A freeze ended by ``Terminate`` (CANCELLED, or COMPLETED by termination) covers nothing.
    This is what the maintenance scheduler asks before starting a maintenance: it pushes the
    maintenance past the returned freeze's ``end_at``."""
    query = (
        sa.select(change_freezes)
        .where(
            change_freezes.c.resource_id == resource_id,
            change_freezes.c.terminated_at.is_(None),
            change_freezes.c.start_at <= at,
            change_freezes.c.end_at > at,
        )
        .order_by(change_freezes.c.end_at.desc(), change_freezes.c.id)
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return _record(row) if row else None


def terminate(
    conn: Connection, freeze_id: str, *, status: str, when: dt.datetime, by: str
) -> ChangeFreezeRecord | None:
    """Mark the freeze terminated at ``when`` by subject ``by`` with ``status`` (CANCELLED or
    COMPLETED), unless it already is; returns the row as it then stands (None if missing)."""
    conn.execute(
        change_freezes.update()
        .where(change_freezes.c.id == freeze_id, change_freezes.c.terminated_at.is_(None))
        .values(status=status, terminated_at=when, updated_at=when, updated_by=by)
    )
    return get(conn, freeze_id)
