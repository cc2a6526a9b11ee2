"""Access bindings of clusters: roles granted to a subject on one cluster."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from managed_redis.store.schema import access_bindings


@dataclass(frozen=True, order=True)
class Binding:
    subject_id: str
    role_id: str
    subject_type: str = "userAccount"


def list_bindings(conn: Connection, cluster_id: str) -> list[Binding]:
    """The access bindings of ``cluster_id``, by subject then role."""
    rows = conn.execute(
        sa.select(access_bindings.c.subject_id, access_bindings.c.role_id, access_bindings.c.subject_type)
        .where(access_bindings.c.cluster_id == cluster_id)
        .order_by(access_bindings.c.subject_id, access_bindings.c.role_id)
    )
    return [Binding(*row) for row in rows]


def roles_of(conn: Connection, cluster_id: str, subject_id: str) -> frozenset[str]:
    """The roles ``subject_id`` holds on ``cluster_id`` (empty if none)."""
    rows = conn.execute(
        sa.select(access_bindings.c.role_id).where(
            access_bindings.c.cluster_id == cluster_id, access_bindings.c.subject_id == subject_id
        )
    )
    return frozenset(rows.scalars())


def add(conn: Connection, cluster_id: str, binding: Binding) -> None:
    """Bind ``binding``'s subject to its role on ``cluster_id``. Raises sqlalchemy's IntegrityError
    if that subject already holds that role there, or the cluster does not exist (foreign key)."""
    conn.execute(
        access_bindings.insert().values(
            cluster_id=cluster_id,
            subject_id=binding.subject_id,
            role_id=binding.role_id,
            subject_type=binding.subject_type,
        )
    )


def remove(conn: Connection, cluster_id: str, binding: Binding) -> None:
    """Unbind ``binding``'s subject from its role on ``cluster_id``; a binding not there is no
    error."""
    conn.execute(
        access_bindings.delete().where(
            access_bindings.c.cluster_id == cluster_id,
            access_bindings.c.subject_id == binding.subject_id,
            access_bindings.c.role_id == binding.role_id,
        )
    )
