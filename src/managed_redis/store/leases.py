"""Rows of the leases table: a job only one process may do at a time, and who does it until when.

``hold`` takes a free or expired lease, or renews one already held, in one compare-and-set
update; several ``mredis serve`` processes on one PostgreSQL thus agree on one supervisor.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from managed_redis.store.schema import leases


def hold(conn: Connection, name: str, owner: str, now: dt.datetime, ttl_s: float) -> bool:
    """Take or renew lease ``name`` for ``owner`` until ``now + ttl_s``; False if another holds it."""
    expires = now + dt.timedelta(seconds=ttl_s)
    result = conn.execute(
        leases.update()
        .where(leases.c.name == name, sa.or_(leases.c.owner == owner, leases.c.expires_at < now))
        .values(owner=owner, expires_at=expires)
    )
    if result.rowcount == 1:
        return True
    if conn.execute(sa.select(leases.c.name).where(leases.c.name == name)).first() is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(leases.insert().values(name=name, owner=owner, expires_at=expires))
    except IntegrityError:
        return False  # another process inserted it first
    return True


def release(conn: Connection, name: str, owner: str) -> None:
    """Give up lease ``name`` if ``owner`` holds it, so another process may take it at once."""
    conn.execute(leases.delete().where(leases.c.name == name, leases.c.owner == owner))
