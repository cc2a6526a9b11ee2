"""Creates the schema on an empty database and migrates an older one forward, on start.

A new database gets the tables of ``schema.py`` and is stamped with the newest version.
An existing one runs each migration above its stamped version, in order, each in its own
transaction. Whoever starts first does the work: PostgreSQL serializes starters with an
advisory lock, SQLite with its write lock.

Adding a migration: change ``schema.py``, then append a ``Migration`` that makes the same
change to a database created before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from managed_redis.store import schema
from managed_redis.store.database import Database

ADVISORY_LOCK_KEY = 0x6D726564  # "mred"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _initial(conn: Connection) -> None:  # pragma: no cover - the baseline is created directly
    schema.metadata.create_all(conn)


def _supervision(conn: Connection) -> None:
    """Stored host facts, leases, the clusters' healing lock and revision."""
    schema.host_facts.create(conn)
    schema.leases.create(conn)
    conn.execute(sa.text("ALTER TABLE clusters ADD COLUMN healing_until BIGINT"))
    conn.execute(sa.text("ALTER TABLE clusters ADD COLUMN revision BIGINT NOT NULL DEFAULT 0"))


def _users(conn: Connection) -> None:
    """The customer's Redis users."""
    schema.users.create(conn)


def _user_changes(conn: Connection) -> None:
    """What cancelling a user change puts back."""
    schema.user_changes.create(conn)


def _users_pending(conn: Connection) -> None:
    """Hosts that did not take a user change live."""
    schema.users_pending.create(conn)


def _maintenances(conn: Connection) -> None:
    """Planned maintenance of clusters."""
    schema.maintenances.create(conn)


def _change_freezes(conn: Connection) -> None:
    """Change freezes."""
    schema.change_freezes.create(conn)


def _running_version(conn: Connection) -> None:
    """The full server version a cluster's hosts run (what maintenance compares)."""
    conn.execute(sa.text("ALTER TABLE clusters ADD COLUMN running_version VARCHAR(32)"))


def _one_active_maintenance(conn: Connection) -> None:
    """At most one SCHEDULED or RUNNING maintenance per cluster (a partial unique index; migration
    6 already made it on a database it created the table in)."""
    index = next(i for i in schema.maintenances.indexes if i.name == "uq_maintenances_one_active")
    index.create(conn, checkfirst=True)


def _lease_holders(conn: Connection) -> None:
    """The process holding each lease (its machine, pid and the pid's start), so that a process
    on the same machine may take a dead holder's lease at once."""
    for table, prefix in (("operations", "lease"), ("leases", "holder")):
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {prefix}_machine VARCHAR(200)"))
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {prefix}_pid INTEGER"))
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {prefix}_pid_started BIGINT"))


def _healing_by(conn: Connection) -> None:
    """Which supervisor holds a cluster's healing lock."""
    conn.execute(sa.text("ALTER TABLE clusters ADD COLUMN healing_by VARCHAR(100)"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _initial),
    Migration(2, "host facts, leases, healing lock, revision", _supervision),
    Migration(3, "redis users", _users),
    Migration(4, "redis user changes", _user_changes),
    Migration(5, "hosts whose users are pending", _users_pending),
    Migration(6, "planned maintenance", _maintenances),
    Migration(7, "change freezes", _change_freezes),
    Migration(8, "the server version a cluster's hosts run", _running_version),
    Migration(9, "one active maintenance per cluster", _one_active_maintenance),
    Migration(10, "the process holding each lease", _lease_holders),
    Migration(11, "the supervisor holding a healing lock", _healing_by),
)

LATEST_VERSION = MIGRATIONS[-1].version


def migrate(db: Database) -> int:
    """Bring the schema to ``LATEST_VERSION``; returns the version found before.
    Raises sqlalchemy's errors if a migration step fails; the transaction then leaves the schema
    as it was."""
    with db.write() as conn:
        if db.is_postgres:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        current = _current_version(conn)
        if current == 0:
            schema.metadata.create_all(conn)
            _stamp(conn, MIGRATIONS[-1])
            return 0
        for migration in MIGRATIONS:
            if migration.version > current:
                migration.apply(conn)
                _stamp(conn, migration)
        return current


def _current_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table(schema.schema_migrations.name):
        return 0
    version = conn.execute(sa.select(sa.func.max(schema.schema_migrations.c.version))).scalar()
    return int(version or 0)


def _stamp(conn: Connection, migration: Migration) -> None:
    conn.execute(
        schema.schema_migrations.insert().values(
            version=migration.version,
            description=migration.description,
            applied_at=dt.datetime.now(dt.UTC),
        )
    )
