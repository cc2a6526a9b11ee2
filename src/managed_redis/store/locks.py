"""Transactions that must not interleave: ``serialize`` makes those naming the same job run
one after another, whichever database holds the store."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def serialize(conn: Connection, job: str) -> None:
    """Hold ``job``'s lock until ``conn``'s transaction ends; another transaction calling this
    with the same ``job`` waits. PostgreSQL: a transaction-scoped advisory lock. SQLite: nothing
    to do, a write transaction holds the database's write lock from its start (``BEGIN
    IMMEDIATE``, store/database.py)."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(job.encode()).digest()[:8], "big", signed=True)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
