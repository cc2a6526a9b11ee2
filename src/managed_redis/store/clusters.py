"""Rows of the clusters, shards and hosts tables and the queries on them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from managed_redis.statuses import ClusterStatus, HostState
from managed_redis.store.schema import access_bindings, clusters, hosts, operations, shards, users


@dataclass
class ClusterRecord:
    id: str
    folder_id: str
    name: str
    status: ClusterStatus
    created_at: dt.datetime
    sharded: bool = False
    spec: dict[str, Any] = field(default_factory=dict)
    secrets: bytes | None = None
    active_operation_id: str | None = None
    healing_until: dt.datetime | None = None
    healing_by: str | None = None
    revision: int = 0
    # The full server version its hosts were last started on (None: not recorded).
    running_version: str | None = None


@dataclass
class ShardRecord:
    cluster_id: str
    name: str
    created_at: dt.datetime
    master_host: str | None = None


@dataclass
class HostRecord:
    name: str
    cluster_id: str
    shard_name: str
    zone_id: str
    address: str
    state: HostState
    created_at: dt.datetime
    subnet_id: str = ""
    replica_priority: int | None = None
    assign_public_ip: bool = False


def _cluster(row: RowMapping) -> ClusterRecord:
    return ClusterRecord(**{**row, "status": ClusterStatus(row["status"])})


def _host(row: RowMapping) -> HostRecord:
    return HostRecord(**{**row, "state": HostState(row["state"])})


def insert(conn: Connection, record: ClusterRecord) -> None:
    """Add the cluster row. Raises sqlalchemy's IntegrityError if its id is taken or its name is
    taken in its folder (``uq_clusters_folder_name``)."""
    conn.execute(clusters.insert().values(**record.__dict__))


# Built once: every API read of a cluster runs it, and building a statement costs more
# than running it on SQLite.
_GET = sa.select(clusters).where(clusters.c.id == sa.bindparam("cluster_id"))


def get(conn: Connection, cluster_id: str) -> ClusterRecord | None:
    """The cluster ``cluster_id``, or None."""
    row = conn.execute(_GET, {"cluster_id": cluster_id}).mappings().first()
    return _cluster(row) if row else None


def list_in_folder(
    conn: Connection,
    folder_id: str,
    limit: int,
    after: tuple[dt.datetime, str] | None,
    name: str | None = None,
) -> list[ClusterRecord]:
    """Clusters of a folder, oldest first; ``after`` is the last (created_at, id) already seen."""
    query = sa.select(clusters).where(clusters.c.folder_id == folder_id)
    if name is not None:
        query = query.where(clusters.c.name == name)
    if after is not None:
        created_at, last_id = after
        query = query.where(
            sa.or_(
                clusters.c.created_at > created_at,
                sa.and_(clusters.c.created_at == created_at, clusters.c.id > last_id),
            )
        )
    query = query.order_by(clusters.c.created_at, clusters.c.id).limit(limit)
    return [_cluster(row) for row in conn.execute(query).mappings()]


@dataclass(frozen=True)
class ClusterBrief:
    """Enough of a cluster to page through a list and to know whether its rendering still holds."""

    id: str
    created_at: dt.datetime
    revision: int


def briefs_in_folder(
    conn: Connection,
    folder_id: str,
    limit: int,
    after: tuple[dt.datetime, str] | None,
    name: str | None = None,
) -> list[ClusterBrief]:
    """``list_in_folder`` without the rows' contents: ids, creation times and revisions."""
    query = sa.select(clusters.c.id, clusters.c.created_at, clusters.c.revision).where(
        clusters.c.folder_id == folder_id
    )
    if name is not None:
        query = query.where(clusters.c.name == name)
    if after is not None:
        created_at, last_id = after
        query = query.where(
            sa.or_(
                clusters.c.created_at > created_at,
                sa.and_(clusters.c.created_at == created_at, clusters.c.id > last_id),
            )
        )
    query = query.order_by(clusters.c.created_at, clusters.c.id).limit(limit)
    return [ClusterBrief(row.id, row.created_at, row.revision) for row in conn.execute(query)]


def get_many(conn: Connection, cluster_ids: list[str]) -> list[ClusterRecord]:
    """The clusters among ``cluster_ids`` that exist, in no particular order."""
    if not cluster_ids:
        return []
    return [_cluster(row) for row in conn.execute(sa.select(clusters).where(clusters.c.id.in_(cluster_ids))).mappings()]


def list_all(conn: Connection, statuses: frozenset[str] | None = None) -> list[ClusterRecord]:
    """Every cluster (of ``statuses``, if given), by id."""
    query = sa.select(clusters).order_by(clusters.c.id)
    if statuses is not None:
        query = query.where(clusters.c.status.in_(sorted(statuses)))
    return [_cluster(row) for row in conn.execute(query).mappings()]


def revisions(conn: Connection, statuses: frozenset[str]) -> list[tuple[str, int, str | None]]:
    """(id, revision, active operation id) of every cluster of ``statuses``, by id: what a
    watcher needs each second to know which of the records it keeps are out of date (the
    running operation is not part of the revision)."""
    query = (
        sa.select(clusters.c.id, clusters.c.revision, clusters.c.active_operation_id)
        .where(clusters.c.status.in_(sorted(statuses)))
        .order_by(clusters.c.id)
    )
    return [(row.id, row.revision, row.active_operation_id) for row in conn.execute(query)]


def hosts_of(conn: Connection, cluster_ids: list[str]) -> dict[str, list[HostRecord]]:
    """cluster id -> its hosts (in creation order), for many clusters in one query."""
    rows = conn.execute(
        sa.select(hosts).where(hosts.c.cluster_id.in_(cluster_ids)).order_by(hosts.c.created_at, hosts.c.name)
    ).mappings()
    found: dict[str, list[HostRecord]] = {cluster_id: [] for cluster_id in cluster_ids}
    for row in rows:
        found[row["cluster_id"]].append(_host(row))
    return found


def shards_of(conn: Connection, cluster_ids: list[str]) -> dict[str, list[ShardRecord]]:
    """cluster id -> its shards (in creation order), for many clusters in one query."""
    rows = conn.execute(
        sa.select(shards).where(shards.c.cluster_id.in_(cluster_ids)).order_by(shards.c.created_at, shards.c.name)
    ).mappings()
    found: dict[str, list[ShardRecord]] = {cluster_id: [] for cluster_id in cluster_ids}
    for row in rows:
        found[row["cluster_id"]].append(ShardRecord(**dict(row)))
    return found


def lock_for_healing(
    conn: Connection,
    cluster_id: str,
    until: dt.datetime,
    now: dt.datetime,
    heal_during: frozenset[str],
    by: str | None = None,
) -> bool:
    """Mark the cluster as being healed until ``until`` by supervisor ``by``, if it is RUNNING
    and nothing holds it: no operation (but those of kinds in ``heal_during``) and no other
    healing. Operations submitted meanwhile wait for ``healing_until`` (``operations.claim_next``)."""
    free = sa.or_(
        clusters.c.active_operation_id.is_(None),
        clusters.c.active_operation_id.in_(
            sa.select(operations.c.id).where(operations.c.kind.in_(sorted(heal_during)))
        ),
    )
    result = conn.execute(
        clusters.update()
        .where(
            clusters.c.id == cluster_id,
            clusters.c.status == ClusterStatus.RUNNING,
            free,
            sa.or_(clusters.c.healing_until.is_(None), clusters.c.healing_until < now),
        )
        .values(healing_until=until, healing_by=by)
    )
    return result.rowcount == 1


def unlock_healing(conn: Connection, cluster_id: str, until: dt.datetime) -> None:
    """End the healing that ``lock_for_healing(..., until)`` began (if it is still that one)."""
    conn.execute(
        clusters.update()
        .where(clusters.c.id == cluster_id, clusters.c.healing_until == until)
        .values(healing_until=None, healing_by=None)
    )


def end_healing_by(conn: Connection, supervisor: str, now: dt.datetime) -> list[str]:
    """End every healing lock supervisor ``supervisor`` holds (it is known to be dead); the ids
    of the clusters it held."""
    held = sa.and_(clusters.c.healing_by == supervisor, clusters.c.healing_until > now)
    ids = list(conn.execute(sa.select(clusters.c.id).where(held)).scalars())
    if ids:
        conn.execute(clusters.update().where(clusters.c.id.in_(ids)).values(healing_until=None, healing_by=None))
    return ids


def update(conn: Connection, cluster_id: str, **values: Any) -> None:
    """Set ``values`` (column -> value) on cluster ``cluster_id`` and bump its revision; none there
    is no error."""
    conn.execute(
        clusters.update().where(clusters.c.id == cluster_id).values(revision=clusters.c.revision + 1, **values)
    )


def bump(conn: Connection, cluster_ids: list[str]) -> None:
    """Note that what reads show of ``cluster_ids`` changed (see ``clusters.revision``)."""
    if cluster_ids:
        conn.execute(clusters.update().where(clusters.c.id.in_(cluster_ids)).values(revision=clusters.c.revision + 1))


def _bump_host(conn: Connection, host_name: str) -> None:
    owner = sa.select(hosts.c.cluster_id).where(hosts.c.name == host_name).scalar_subquery()
    conn.execute(clusters.update().where(clusters.c.id == owner).values(revision=clusters.c.revision + 1))


def lock_for_operation(conn: Connection, cluster_id: str, operation_id: str) -> bool:
    """Make ``operation_id`` the cluster's one running operation; False if another holds it."""
    result = conn.execute(
        clusters.update()
        .where(clusters.c.id == cluster_id, clusters.c.active_operation_id.is_(None))
        .values(active_operation_id=operation_id)
    )
    return result.rowcount == 1


def delete(conn: Connection, cluster_id: str) -> None:
    """Remove the cluster with its hosts, shards, access bindings and users; none there is no error.

    Its row is locked first: a transaction that writes host facts locks the cluster rows before
    the facts (``host_facts.record``), and the same order here keeps the two from deadlocking
    on PostgreSQL."""
    conn.execute(sa.select(clusters.c.id).where(clusters.c.id == cluster_id).with_for_update())
    conn.execute(access_bindings.delete().where(access_bindings.c.cluster_id == cluster_id))
    conn.execute(users.delete().where(users.c.cluster_id == cluster_id))
    conn.execute(hosts.delete().where(hosts.c.cluster_id == cluster_id))
    conn.execute(shards.delete().where(shards.c.cluster_id == cluster_id))
    conn.execute(clusters.delete().where(clusters.c.id == cluster_id))


def insert_shard(conn: Connection, record: ShardRecord) -> None:
    """Add the shard row and bump its cluster's revision. Raises sqlalchemy's IntegrityError if the
    cluster has a shard of that name."""
    conn.execute(shards.insert().values(**record.__dict__))
    bump(conn, [record.cluster_id])


def list_shards(conn: Connection, cluster_id: str) -> list[ShardRecord]:
    """The shards of ``cluster_id``, in creation order."""
    rows = conn.execute(
        sa.select(shards).where(shards.c.cluster_id == cluster_id).order_by(shards.c.created_at, shards.c.name)
    ).mappings()
    return [ShardRecord(**dict(row)) for row in rows]


def set_shard_master(conn: Connection, cluster_id: str, shard_name: str, host_name: str) -> None:
    """Name ``host_name`` as the master of shard ``shard_name`` and bump the cluster's revision."""
    conn.execute(
        shards.update()
        .where(shards.c.cluster_id == cluster_id, shards.c.name == shard_name)
        .values(master_host=host_name)
    )
    bump(conn, [cluster_id])


def delete_shard(conn: Connection, cluster_id: str, name: str) -> None:
    """Remove the shard row and bump the cluster's revision; none there is no error."""
    conn.execute(shards.delete().where(shards.c.cluster_id == cluster_id, shards.c.name == name))
    bump(conn, [cluster_id])


def insert_host(conn: Connection, record: HostRecord) -> None:
    """Add the host row and bump its cluster's revision. Raises sqlalchemy's IntegrityError if its
    name or its address is taken."""
    conn.execute(hosts.insert().values(**record.__dict__))
    bump(conn, [record.cluster_id])


def list_hosts(conn: Connection, cluster_id: str) -> list[HostRecord]:
    """The hosts of ``cluster_id``, in creation order."""
    rows = conn.execute(
        sa.select(hosts).where(hosts.c.cluster_id == cluster_id).order_by(hosts.c.created_at, hosts.c.name)
    ).mappings()
    return [_host(row) for row in rows]


def update_host(conn: Connection, name: str, **values: Any) -> None:
    """Set ``values`` (column -> value) on host ``name`` and bump its cluster's revision."""
    conn.execute(hosts.update().where(hosts.c.name == name).values(**values))
    _bump_host(conn, name)


def delete_host(conn: Connection, name: str) -> None:
    """Remove host ``name`` and bump its cluster's revision; none there is no error."""
    _bump_host(conn, name)
    conn.execute(hosts.delete().where(hosts.c.name == name))


def used_addresses(conn: Connection) -> set[str]:
    """Every address a host of any cluster holds."""
    return set(conn.execute(sa.select(hosts.c.address)).scalars())
