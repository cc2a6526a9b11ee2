"""Rows of the operations table, the service's only work queue, and the queries on it.

Claiming, renewing, checkpointing and finishing are compare-and-set updates guarded by
the lease owner, so two workers (threads or processes, on SQLite or PostgreSQL) never run
one operation at once, and a worker that lost its lease cannot overwrite the new owner. A
lease also names the holder's process, so that one that died on this machine is ended at once
(``release_gone_holders``) rather than when it expires.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from managed_redis.lease_holders import LeaseHolder
from managed_redis.store.schema import clusters, operations


@dataclass
class OperationRecord:
    id: str
    kind: str
    description: str
    folder_id: str
    cluster_id: str | None
    created_by: str
    created_at: dt.datetime
    modified_at: dt.datetime
    request: bytes
    metadata: bytes
    request_fingerprint: str
    done: bool = False
    response: bytes | None = None
    error: bytes | None = None
    idempotency_key: str | None = None
    locks_cluster: bool = True
    lease_owner: str | None = None
    lease_expires_at: dt.datetime | None = None
    lease_machine: str | None = None
    lease_pid: int | None = None
    lease_pid_started: int | None = None
    attempts: int = 0
    progress: dict[str, Any] = field(default_factory=dict)


def _record(row: RowMapping) -> OperationRecord:
    return OperationRecord(**dict(row))


def insert(conn: Connection, record: OperationRecord) -> None:
    """Add the operation row. Raises sqlalchemy's IntegrityError if its id is taken, or its caller
    already used its idempotency key (``uq_operations_idempotency``)."""
    conn.execute(operations.insert().values(**record.__dict__))


def get(conn: Connection, operation_id: str) -> OperationRecord | None:
    """The operation ``operation_id``, or None."""
    row = conn.execute(sa.select(operations).where(operations.c.id == operation_id)).mappings().first()
    return _record(row) if row else None


@dataclass(frozen=True)
class Holder:
    """An operation holding a cluster: its kind, and until when its worker's lease runs."""

    kind: str
    lease_expires_at: dt.datetime | None

    def orphaned(self, now: dt.datetime) -> bool:
        """Claimed once, and its lease ran out: no worker is carrying it on right now."""
        return self.lease_expires_at is not None and self.lease_expires_at < now


def holders(conn: Connection, operation_ids: list[str]) -> dict[str, Holder]:
    """operation id -> its kind and lease, for the unfinished ones among ``operation_ids``."""
    if not operation_ids:
        return {}
    rows = conn.execute(
        sa.select(operations.c.id, operations.c.kind, operations.c.lease_expires_at).where(
            operations.c.id.in_(operation_ids), operations.c.done.is_(False)
        )
    )
    return {row.id: Holder(row.kind, row.lease_expires_at) for row in rows}


def find_by_idempotency_key(conn: Connection, created_by: str, key: str) -> OperationRecord | None:
    """The operation ``created_by`` submitted under ``key``, or None."""
    row = (
        conn.execute(
            sa.select(operations).where(operations.c.created_by == created_by, operations.c.idempotency_key == key)
        )
        .mappings()
        .first()
    )
    return _record(row) if row else None


def list_for_cluster(
    conn: Connection, cluster_id: str, limit: int, after: tuple[dt.datetime, str] | None
) -> list[OperationRecord]:
    """Newest first; ``after`` is the (created_at, id) of the last row of the previous page."""
    query = sa.select(operations).where(operations.c.cluster_id == cluster_id)
    if after is not None:
        created_at, op_id = after
        query = query.where(
            sa.or_(
                operations.c.created_at < created_at,
                sa.and_(operations.c.created_at == created_at, operations.c.id < op_id),
            )
        )
    query = query.order_by(operations.c.created_at.desc(), operations.c.id.desc()).limit(limit)
    return [_record(row) for row in conn.execute(query).mappings()]


def claim_next(
    conn: Connection,
    owner: str,
    now: dt.datetime,
    lease_s: float,
    kinds: set[str],
    heal_during: frozenset[str] = frozenset(),
    holder: LeaseHolder | None = None,
) -> OperationRecord | None:
    """Take the oldest unfinished operation nobody holds a live lease on, or None; the lease
    records ``holder``, the claiming process (``release_gone_holders``).

    An operation on a cluster the supervisor is healing waits until the healing ends, unless
    its kind is one healing may run beside (``heal_during``).
    """
    healing = sa.exists().where(clusters.c.id == operations.c.cluster_id, clusters.c.healing_until > now)
    claimable = sa.and_(
        operations.c.done.is_(False),
        sa.or_(operations.c.lease_expires_at.is_(None), operations.c.lease_expires_at < now),
        operations.c.kind.in_(sorted(kinds)),
        sa.or_(sa.not_(healing), operations.c.kind.in_(sorted(heal_during))),
    )
    query = sa.select(operations.c.id).where(claimable).order_by(operations.c.created_at)
    if conn.dialect.name == "postgresql":
        # Many workers (several replicas') claiming at once: each takes the oldest row no other
        # transaction holds, instead of all queueing on the same one (SQLite's writers take
        # turns anyway: BEGIN IMMEDIATE).
        query = query.limit(1).with_for_update(skip_locked=True, of=operations)
    else:
        query = query.limit(16)
    candidates = conn.execute(query).scalars()
    expires = now + dt.timedelta(seconds=lease_s)
    for op_id in list(candidates):
        claimed = conn.execute(
            operations.update()
            .where(operations.c.id == op_id, claimable)
            .values(
                lease_owner=owner,
                lease_expires_at=expires,
                lease_machine=holder.machine if holder else None,
                lease_pid=holder.pid if holder else None,
                lease_pid_started=holder.started if holder else None,
                attempts=operations.c.attempts + 1,
                modified_at=now,
            )
        )
        if claimed.rowcount == 1:
            return get(conn, op_id)
    return None


def release_gone_holders(conn: Connection, here: LeaseHolder, now: dt.datetime) -> list[tuple[str, str]]:
    """End now the live leases held by processes of ``here``'s machine that are gone
    (``LeaseHolder.gone``), so that their operations are claimed at once rather than when the
    leases expire; a live holder's lease is never touched. Returns (operation id, the gone
    owner) of each lease ended."""
    held = conn.execute(
        sa.select(
            operations.c.id,
            operations.c.lease_owner,
            operations.c.lease_pid,
            operations.c.lease_pid_started,
        ).where(
            operations.c.done.is_(False),
            operations.c.lease_machine == here.machine,
            operations.c.lease_expires_at >= now,
        )
    ).all()
    released = []
    for row in held:
        if row.lease_pid is None or row.lease_pid_started is None:
            continue
        if not LeaseHolder(here.machine, row.lease_pid, row.lease_pid_started).gone(here):
            continue
        ended = conn.execute(
            operations.update()
            .where(operations.c.id == row.id, operations.c.lease_owner == row.lease_owner, operations.c.done.is_(False))
            .values(lease_expires_at=now - dt.timedelta(microseconds=1))  # claimable from ``now`` on
        )
        if ended.rowcount == 1:
            released.append((row.id, row.lease_owner))
    return released


def renew_lease(conn: Connection, op_id: str, owner: str, now: dt.datetime, lease_s: float) -> bool:
    """Extend a held lease; False when the lease was lost (expired and taken, or finished)."""
    result = conn.execute(
        operations.update()
        .where(operations.c.id == op_id, operations.c.lease_owner == owner, operations.c.done.is_(False))
        .values(lease_expires_at=now + dt.timedelta(seconds=lease_s))
    )
    return result.rowcount == 1


def save_progress(conn: Connection, op_id: str, owner: str, now: dt.datetime, progress: dict[str, Any]) -> bool:
    """Store ``progress`` for the operation if ``owner`` still holds it; False if it no longer does
    (lost, or finished)."""
    result = conn.execute(
        operations.update()
        .where(operations.c.id == op_id, operations.c.lease_owner == owner, operations.c.done.is_(False))
        .values(progress=progress, modified_at=now)
    )
    return result.rowcount == 1


def finish(
    conn: Connection,
    record: OperationRecord,
    owner: str | None,
    now: dt.datetime,
    *,
    response: bytes | None = None,
    error: bytes | None = None,
    metadata: bytes | None = None,
) -> bool:
    """Mark done with a response or an error and release the cluster; guarded by ``owner``.

    ``owner`` None finishes an operation that was never claimed (a cancellation).
    """
    guard = operations.c.lease_owner == owner if owner is not None else operations.c.attempts == 0
    values: dict[str, Any] = {
        "done": True,
        "response": response,
        "error": error,
        "modified_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
        "lease_machine": None,
        "lease_pid": None,
        "lease_pid_started": None,
    }
    if metadata is not None:
        values["metadata"] = metadata
    result = conn.execute(
        operations.update().where(operations.c.id == record.id, operations.c.done.is_(False), guard).values(**values)
    )
    if result.rowcount != 1:
        return False
    if record.cluster_id and record.locks_cluster:
        conn.execute(
            clusters.update()
            .where(clusters.c.id == record.cluster_id, clusters.c.active_operation_id == record.id)
            .values(active_operation_id=None)
        )
    return True
