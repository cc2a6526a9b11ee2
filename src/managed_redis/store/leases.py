"""Rows of the leases table: a job only one process may do at a time, and who does it until when.

``hold`` takes a free or expired lease, or renews one already held, in one compare-and-set
update; several ``mredis serve`` processes on one PostgreSQL thus agree on one supervisor. A
lease records its holder's process (``lease_holders.py``): a process of the same machine takes
the lease of a holder that is gone at once, without waiting for it to expire, and never the
lease of one that lives.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from managed_redis.lease_holders import LeaseHolder
from managed_redis.store.schema import leases


def hold(
    conn: Connection, name: str, owner: str, now: dt.datetime, ttl_s: float, holder: LeaseHolder | None = None
) -> bool:
    """Take or renew lease ``name`` for ``owner`` (the process ``holder``) until ``now + ttl_s``;
    False if another holds it and is alive (or cannot be told dead: ``LeaseHolder.gone``)."""
    values: dict[str, Any] = {
        "owner": owner,
        "expires_at": now + dt.timedelta(seconds=ttl_s),
        "holder_machine": holder.machine if holder else None,
        "holder_pid": holder.pid if holder else None,
        "holder_pid_started": holder.started if holder else None,
    }
    result = conn.execute(
        leases.update()
        .where(leases.c.name == name, sa.or_(leases.c.owner == owner, leases.c.expires_at < now))
        .values(**values)
    )
    if result.rowcount == 1:
        return True
    current = conn.execute(sa.select(leases).where(leases.c.name == name)).first()
    if current is not None:
        if not _holder_gone(current, holder):
            return False
        taken = conn.execute(
            leases.update().where(leases.c.name == name, leases.c.owner == current.owner).values(**values)
        )
        return taken.rowcount == 1
    try:
        with conn.begin_nested():
            conn.execute(leases.insert().values(name=name, **values))
    except IntegrityError:
        return False  # another process inserted it first
    return True


def _holder_gone(row: Any, here: LeaseHolder | None) -> bool:
    """Whether the process holding the lease ``row`` is certainly dead, seen from ``here``."""
    if row.holder_machine is None or row.holder_pid is None or row.holder_pid_started is None:
        return False
    return LeaseHolder(row.holder_machine, row.holder_pid, row.holder_pid_started).gone(here)


def gone_holder(conn: Connection, name: str, here: LeaseHolder | None) -> str | None:
    """The owner of lease ``name`` if its holder is certainly dead (``LeaseHolder.gone`` seen
    from ``here``); None if there is no such lease or its holder lives, or cannot be told dead."""
    current = conn.execute(sa.select(leases).where(leases.c.name == name)).first()
    if current is None or not _holder_gone(current, here):
        return None
    owner: str = current.owner
    return owner


def release(conn: Connection, name: str, owner: str) -> None:
    """Give up lease ``name`` if ``owner`` holds it, so another process may take it at once."""
    conn.execute(leases.delete().where(leases.c.name == name, leases.c.owner == owner))
