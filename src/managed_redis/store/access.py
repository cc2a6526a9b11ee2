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
    rows = conn.execute(
        sa.select(access_bindings.c.subject_id, access_bindings.c.role_id, access_bindings.c.subject_type)
        .where(access_bindings.c.cluster_id == cluster_id)
        .order_by(access_bindings.c.subject_id, access_bindings.c.role_id)
    )
    return [Binding(*row) for row in rows]


def roles_of(conn: Connection, cluster_id: str, subject_id: str) -> frozenset[str]:
    rows = conn.execute(
        sa.select(access_bindings.c.role_id).where(
            access_bindings.c.cluster_id == cluster_id, access_bindings.c.subject_id == subject_id
        )
    )
    return frozenset(rows.scalars())


def add(conn: Connection, cluster_id: str, binding: Binding) -> None:
    conn.execute(
        access_bindings.insert().values(
            cluster_id=cluster_id,
            subject_id=binding.subject_id,
            role_id=binding.role_id,
            subject_type=binding.subject_type,
        )
    )


def remove(conn: Connection, cluster_id: str, binding: Binding) -> None:
    conn.execute(
        access_bindings.delete().where(
            access_bindings.c.cluster_id == cluster_id,
            access_bindings.c.subject_id == binding.subject_id,
            access_bindings.c.role_id == binding.role_id,
        )
    )
