"""The metadata database: one SQLAlchemy engine, SQLite by default or PostgreSQL by URL.

``Database.write()`` opens a transaction that holds the write lock from its first statement
(``BEGIN IMMEDIATE`` on SQLite, so two writers queue instead of failing on a lock
upgrade); ``Database.read()`` opens a plain one. Nothing here knows what the tables mean.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> str:
    """Let plain ``postgresql://`` URLs use the psycopg 3 driver this package ships with."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """The store's connections: one SQLAlchemy engine for ``url``. Opening a transaction on a
    database that cannot be reached raises sqlalchemy's OperationalError."""

    def __init__(self, url: str) -> None:
        """Connects to nothing yet. Raises sqlalchemy's ArgumentError for a URL it cannot parse, or
        ImportError when its driver is not installed."""
        self.url = normalize_url(url)
        self.engine: Engine = sa.create_engine(self.url, **_engine_options(self.url))
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is SQLite."""
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        """Whether the database is PostgreSQL."""
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction for changes, committed on success and rolled back on any error."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(mredis_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction for reads only: one consistent view, never committed."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def _install_sqlite_hooks(engine: Engine) -> None:
    """Take over SQLite transaction control from pysqlite (the documented SQLAlchemy recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("mredis_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
