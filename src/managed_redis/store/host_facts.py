"""Rows of the host_facts table: what the supervisor (or an operation) last saw of each host.

Written once per supervisor pass for every host in one transaction, cheaply: rows whose facts
changed are written in full, the rest only get their times moved on in one statement.
Read by the API (health) and the supervisor (decisions); nothing here interprets the facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from managed_redis.store import clusters as clusters_store
from managed_redis.store.schema import host_facts, hosts


@dataclass(frozen=True)
class FactsRow:
    host_name: str
    cluster_id: str
    # None: not looked at since the supervisor now watching took over (see ``unverify``).
    checked_at: dt.datetime | None
    # The last time Redis on the host answered; None if it never did.
    answered_at: dt.datetime | None
    facts: dict[str, Any]


@dataclass(frozen=True)
class Sighting:
    """One look at one host: ``facts`` is None when they did not change since the last look."""

    host_name: str
    cluster_id: str
    answered: bool
    facts: dict[str, Any] | None


def record(conn: Connection, sightings: Iterable[Sighting], now: dt.datetime) -> None:
    """Store one pass's looks at hosts, all seen at ``now``.

    The rows of the clusters whose facts changed are bumped (and so locked) before any fact is
    written: a cluster's deletion locks its row before its hosts' facts go with its hosts
    (``clusters.delete``); the opposite order deadlocks with it on PostgreSQL."""
    changed = [s for s in sightings if s.facts is not None]
    same_answered = [s.host_name for s in sightings if s.facts is None and s.answered]
    same_silent = [s.host_name for s in sightings if s.facts is None and not s.answered]
    if changed:
        clusters_store.bump(conn, sorted({s.cluster_id for s in changed}))
    if same_answered:
        conn.execute(
            host_facts.update().where(host_facts.c.host_name.in_(same_answered)).values(checked_at=now, answered_at=now)
        )
    if same_silent:
        conn.execute(host_facts.update().where(host_facts.c.host_name.in_(same_silent)).values(checked_at=now))
    if not changed:
        return
    names = [s.host_name for s in changed]
    existing = set(conn.execute(sa.select(host_facts.c.host_name).where(host_facts.c.host_name.in_(names))).scalars())
    live = _existing_hosts(conn, names)
    for sighting in changed:
        if sighting.host_name not in live:
            continue  # deleted meanwhile
        values: dict[str, Any] = {"checked_at": now, "facts": sighting.facts, "cluster_id": sighting.cluster_id}
        if sighting.answered:
            values["answered_at"] = now
        if sighting.host_name in existing:
            conn.execute(host_facts.update().where(host_facts.c.host_name == sighting.host_name).values(**values))
        else:
            conn.execute(host_facts.insert().values(host_name=sighting.host_name, **values))


def unverify(conn: Connection) -> None:
    """Mark every stored look as not yet confirmed by the supervisor that just took over.

    What a previous supervisor saw may no longer hold (its control plane stopped, and the
    machine may have rebooted meanwhile): until the new one looks, health is unknown rather
    than what was last seen, however recent."""
    owners = sorted(set(conn.execute(sa.select(host_facts.c.cluster_id).distinct()).scalars()))
    clusters_store.bump(conn, owners)  # the cluster rows first, as ``record`` does
    conn.execute(host_facts.update().values(checked_at=None))


def _existing_hosts(conn: Connection, names: list[str]) -> set[str]:
    return set(conn.execute(sa.select(hosts.c.name).where(hosts.c.name.in_(names))).scalars())


def for_clusters(conn: Connection, cluster_ids: list[str]) -> dict[str, FactsRow]:
    """host name -> its last facts, for every host of ``cluster_ids`` that was ever looked at."""
    rows = conn.execute(sa.select(host_facts).where(host_facts.c.cluster_id.in_(cluster_ids))).mappings()
    return {row["host_name"]: FactsRow(**dict(row)) for row in rows}
