"""The queries ``GET /metrics`` runs: what its page depends on, in one row (``page_marks``);
finished and running operations, the revision of every cluster and the hosts whose last
look is old. Read-only; nothing here interprets what it reads."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from managed_redis.store.schema import access_bindings, clusters, host_facts, operations


@dataclass(frozen=True)
class FinishedOperation:
    id: str
    folder_id: str
    kind: str
    # False when it ended with an error.
    ok: bool
    created_at: dt.datetime
    modified_at: dt.datetime


_FINISHED = sa.select(
    operations.c.id,
    operations.c.folder_id,
    operations.c.kind,
    operations.c.error.is_(None),
    operations.c.created_at,
    operations.c.modified_at,
).where(operations.c.done.is_(True))


def finished_since(conn: Connection, since: dt.datetime | None, skip: Collection[str] = ()) -> list[FinishedOperation]:
    """Operations done at ``since`` or later (every one with None), oldest first, but those
    whose id is in ``skip`` (already counted: a scrape then reads no row when none finished
    since the last). An operation's ``modified_at`` is the time it finished and does not
    move after."""
    query = _FINISHED if since is None else _FINISHED.where(operations.c.modified_at >= since)
    if skip:
        query = query.where(operations.c.id.not_in(list(skip)))
    rows = conn.execute(query.order_by(operations.c.modified_at))
    return [FinishedOperation(*row) for row in rows]


_RUNNING = (
    sa.select(operations.c.folder_id, operations.c.kind, sa.func.count())
    .where(operations.c.done.is_(False))
    .group_by(operations.c.folder_id, operations.c.kind)
)


def running_by_kind(conn: Connection) -> dict[tuple[str, str], int]:
    """(folder id, kind) -> how many operations of that kind are not done yet."""
    return {(folder, kind): int(count) for folder, kind, count in conn.execute(_RUNNING)}


# Every cluster's "id:revision", joined by commas in one string: one row, not one per
# cluster (a scrape's thread waits for the GIL again after each row it fetches; with the
# supervisor busy beside it, that is the scrape's longest wait). Ids are letters and digits.
_REVISIONS = sa.select(sa.func.aggregate_strings(clusters.c.id + ":" + sa.cast(clusters.c.revision, sa.String), ","))


def cluster_revisions(conn: Connection) -> dict[str, int]:
    """Cluster id -> its revision, for every cluster (by id): which kept reads are out of date."""
    return parse_revisions(conn.execute(_REVISIONS).scalar())


def parse_revisions(joined: str | None) -> dict[str, int]:
    """Cluster id -> revision, by id, from ``PageMarks.revisions`` (``id:revision,...``)."""
    if not joined:
        return {}
    pairs = sorted(item.partition(":")[::2] for item in joined.split(","))
    return {cluster_id: int(revision) for cluster_id, revision in pairs}


def _looked_at_before(before: dt.datetime | sa.BindParameter[dt.datetime]) -> sa.Select[tuple[str]]:
    checked_at = host_facts.c.checked_at
    return sa.select(host_facts.c.host_name).where(sa.or_(checked_at.is_(None), checked_at <= before))


def hosts_looked_at_before(conn: Connection, before: dt.datetime) -> set[str]:
    """Names of the hosts last looked at before ``before`` (at it too), or whose last look is
    not confirmed (``host_facts.unverify``): those whose look is not recent. Few or none while
    a supervisor looks at every host, so a scrape reads a few rows, not one per host."""
    return {str(name) for name in conn.execute(_looked_at_before(before)).scalars()}


@dataclass(frozen=True)
class PageMarks:
    """What the page of ``GET /metrics`` depends on in the store, as of one read: equal marks,
    the same clusters, hosts' recent looks, operations and bindings (so the same page, the
    supervisor's memory aside). Strings as the database joined them (their order is the
    database's: equal content may come in another order, which only costs a page written
    again)."""

    # Every cluster's "id:revision", joined by commas (``parse_revisions``); None: no cluster.
    revisions: str | None
    # The names of the hosts whose last look is not recent (``hosts_looked_at_before``), by commas.
    stale: str | None
    # How many operations there are, and how many are done: one submitted, one finished or
    # one deleted moves one of them.
    operations: int
    done: int
    # The subject's bindings on clusters, "cluster_id:role" by commas (None: none, or not asked).
    bindings: str | None

    @property
    def stale_hosts(self) -> frozenset[str]:
        return frozenset(self.stale.split(",")) if self.stale else frozenset()

    def bound(self) -> dict[str, frozenset[str]]:
        """Cluster id -> the roles bound to the subject on it with one."""
        found: dict[str, set[str]] = defaultdict(set)
        for pair in self.bindings.split(",") if self.bindings else ():
            cluster_id, _, role = pair.partition(":")
            found[cluster_id].add(role)
        return {cluster_id: frozenset(roles) for cluster_id, roles in found.items()}


def _joined(column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    return sa.func.aggregate_strings(column, ",")


def _marks_query(with_bindings: bool) -> sa.Select[tuple[Any, ...]]:
    """The one row of ``page_marks``: parameters ``stale_before`` (and ``subject_id``)."""
    stale = _looked_at_before(sa.bindparam("stale_before", type_=host_facts.c.checked_at.type)).subquery()
    columns: list[sa.ScalarSelect[Any]] = [
        _REVISIONS.scalar_subquery(),
        sa.select(_joined(stale.c.host_name)).scalar_subquery(),
        sa.select(sa.func.count()).select_from(operations).scalar_subquery(),
        sa.select(sa.func.count()).select_from(operations).where(operations.c.done.is_(True)).scalar_subquery(),
    ]
    if with_bindings:
        pair = access_bindings.c.cluster_id + ":" + access_bindings.c.role_id
        subject = access_bindings.c.subject_id == sa.bindparam("subject_id")
        columns.append(sa.select(_joined(pair)).where(subject).scalar_subquery())
    return sa.select(*columns)


# Built once (building the statement costs more than SQLite running it).
_MARKS = {with_bindings: _marks_query(with_bindings) for with_bindings in (False, True)}


def page_marks(conn: Connection, stale_before: dt.datetime, subject_id: str | None) -> PageMarks:
    """``PageMarks`` as of now, in one statement (one row): hosts looked at before
    ``stale_before`` count as stale; the bindings of ``subject_id`` (none read with None).
    Cluster ids, host names and role ids hold no comma or colon."""
    if subject_id is None:
        row = conn.execute(_MARKS[False], {"stale_before": stale_before}).one()
    else:
        row = conn.execute(_MARKS[True], {"stale_before": stale_before, "subject_id": subject_id}).one()
    revisions, stale_names, count, done = row[:4]
    return PageMarks(revisions, stale_names, int(count), int(done), row[4] if subject_id is not None else None)
