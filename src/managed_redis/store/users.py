"""The customer's Redis users of each cluster, as declared: what every host is to hold.

A row keeps a user's name, its password as SHA-256 hex digests (never the password), its
permissions as the JSON of ``domain.users.Permissions``, whether it is enabled, and its
``acl_options`` as a host last described it. Rows go with their cluster (``clusters.delete``
and the foreign key's cascade). A change is stored as declared when its operation is
submitted; until the operation runs, ``user_changes`` keeps the user as it was, which
``undo_change`` puts back if the operation is cancelled before it starts. ``users_pending``
names the hosts that were running but did not answer when the users changed (they hold old
users in memory) until the supervisor has given them the declared ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from managed_redis.store.schema import user_changes, users, users_pending


@dataclass(frozen=True)
class UserRecord:
    cluster_id: str
    name: str
    password_sha256: tuple[str, ...]
    permissions: dict[str, str]
    enabled: bool
    created_at: dt.datetime
    acl_options: str = ""


def _user(row: RowMapping) -> UserRecord:
    values = dict(row)
    values["password_sha256"] = tuple(values["password_sha256"])
    return UserRecord(**values)


def _values(record: UserRecord) -> dict[str, Any]:
    values = record.__dict__.copy()
    values["password_sha256"] = list(record.password_sha256)
    return values


def insert(conn: Connection, record: UserRecord) -> None:
    """Add the user. Raises sqlalchemy's IntegrityError if its cluster has a user of that name,
    or the cluster does not exist (foreign key)."""
    conn.execute(users.insert().values(**_values(record)))


def replace(conn: Connection, record: UserRecord) -> None:
    """Store ``record`` over the user of its cluster and name (nothing if there is none)."""
    values = _values(record)
    conn.execute(
        users.update().where(users.c.cluster_id == record.cluster_id, users.c.name == record.name).values(**values)
    )


def get(conn: Connection, cluster_id: str, name: str) -> UserRecord | None:
    """The user ``name`` of ``cluster_id``; None if there is none."""
    row = conn.execute(sa.select(users).where(users.c.cluster_id == cluster_id, users.c.name == name)).mappings()
    found = row.first()
    return _user(found) if found is not None else None


def list_users(conn: Connection, cluster_id: str) -> list[UserRecord]:
    """The users of ``cluster_id``, by name."""
    rows = conn.execute(sa.select(users).where(users.c.cluster_id == cluster_id).order_by(users.c.name)).mappings()
    return [_user(row) for row in rows]


def delete(conn: Connection, cluster_id: str, name: str) -> None:
    """Remove the user ``name`` of ``cluster_id``; none there is no error."""
    conn.execute(users.delete().where(users.c.cluster_id == cluster_id, users.c.name == name))


def set_acl_options(conn: Connection, cluster_id: str, acl_options: dict[str, str]) -> None:
    """Store each user's ``acl_options`` (name -> text); names with no row are skipped."""
    for name, text in acl_options.items():
        conn.execute(
            users.update().where(users.c.cluster_id == cluster_id, users.c.name == name).values(acl_options=text)
        )


def record_change(conn: Connection, operation_id: str, cluster_id: str, name: str, before: UserRecord | None) -> None:
    """Keep the user ``name`` as it was (``before``; None: it did not exist) before the change
    ``operation_id`` makes. Raises sqlalchemy's IntegrityError if that operation has one kept."""
    kept = None if before is None else dict(_values(before), created_at=before.created_at.isoformat())
    conn.execute(user_changes.insert().values(operation_id=operation_id, cluster_id=cluster_id, name=name, before=kept))


def forget_change(conn: Connection, operation_id: str) -> None:
    """Drop what ``record_change`` kept for ``operation_id`` (its change is being made)."""
    conn.execute(user_changes.delete().where(user_changes.c.operation_id == operation_id))


def undo_change(conn: Connection, operation_id: str) -> None:
    """Put the user ``operation_id`` changed back as it was (nothing if it kept none)."""
    row = conn.execute(sa.select(user_changes).where(user_changes.c.operation_id == operation_id)).mappings().first()
    if row is None:
        return
    delete(conn, row["cluster_id"], row["name"])
    if row["before"] is not None:
        before = dict(row["before"], created_at=dt.datetime.fromisoformat(row["before"]["created_at"]))
        conn.execute(users.insert().values(**before))
    forget_change(conn, operation_id)


def mark_pending(conn: Connection, cluster_id: str, host_names: list[str]) -> None:
    """Note that these hosts of the cluster still hold old users in memory; marked twice is no error."""
    for name in host_names:
        clear_pending(conn, cluster_id, name)
        conn.execute(users_pending.insert().values(cluster_id=cluster_id, host_name=name))


def clear_pending(conn: Connection, cluster_id: str, host_name: str) -> None:
    """The host holds the declared users now; not marked is no error."""
    conn.execute(
        users_pending.delete().where(users_pending.c.cluster_id == cluster_id, users_pending.c.host_name == host_name)
    )


def pending_hosts(conn: Connection) -> dict[str, frozenset[str]]:
    """Cluster id -> the names of its hosts marked as holding old users."""
    found: dict[str, set[str]] = {}
    for row in conn.execute(sa.select(users_pending.c.cluster_id, users_pending.c.host_name)):
        found.setdefault(row.cluster_id, set()).add(row.host_name)
    return {cluster_id: frozenset(names) for cluster_id, names in found.items()}
