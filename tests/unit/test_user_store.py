"""store/users.py on SQLite: users are kept per cluster with hashes only, and go with their
cluster; a database made before users existed gets their table on start."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from managed_redis.statuses import ClusterStatus
from managed_redis.store import clusters as cluster_store
from managed_redis.store import migrations, schema
from managed_redis.store import users as user_store
from managed_redis.store.clusters import ClusterRecord
from managed_redis.store.database import Database
from managed_redis.store.users import UserRecord

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _cluster(db: Database, cluster_id: str) -> None:
    with db.write() as conn:
        cluster_store.insert(
            conn,
            ClusterRecord(
                id=cluster_id, folder_id="f", name=cluster_id, status=ClusterStatus.RUNNING, created_at=NOW, spec={}
            ),
        )


def _user(cluster_id: str, name: str) -> UserRecord:
    return UserRecord(cluster_id, name, ("ab" * 32,), {"patterns": "~app:*", "commands": "+get"}, True, NOW)


def test_users_are_kept_per_cluster_and_go_with_it(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrations.migrate(db)
    _cluster(db, "c1")
    _cluster(db, "c2")
    with db.write() as conn:
        user_store.insert(conn, _user("c1", "bob"))
        user_store.insert(conn, _user("c1", "alice"))
        user_store.insert(conn, _user("c2", "bob"))
        user_store.set_acl_options(conn, "c1", {"bob": "on ~app:* resetchannels -@all +get", "ghost": "x"})
    with db.read() as conn:
        assert [u.name for u in user_store.list_users(conn, "c1")] == ["alice", "bob"]
        bob = user_store.get(conn, "c1", "bob")
    assert bob is not None and bob.password_sha256 == ("ab" * 32,) and bob.acl_options.startswith("on ~app:*")
    with db.write() as conn:
        user_store.replace(conn, UserRecord("c1", "bob", (), {}, False, NOW))
        cluster_store.delete(conn, "c2")
    with db.read() as conn:
        changed = user_store.get(conn, "c1", "bob")
        assert user_store.list_users(conn, "c2") == []
    assert changed is not None and changed.enabled is False and changed.password_sha256 == ()


def test_an_older_database_gets_the_users_tables(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with db.write() as conn:  # the schema as migration 2 left it: no table or column of a later one
        for table in schema.metadata.sorted_tables:
            if table.name not in ("users", "user_changes", "users_pending", "maintenances", "change_freezes"):
                table.create(conn)
        conn.execute(sa.text("ALTER TABLE clusters DROP COLUMN running_version"))
        conn.execute(sa.text("ALTER TABLE clusters DROP COLUMN healing_by"))  # migration 11's
        for table_name, prefix in (("operations", "lease"), ("leases", "holder")):  # migration 10's
            for column in ("machine", "pid", "pid_started"):
                conn.execute(sa.text(f"ALTER TABLE {table_name} DROP COLUMN {prefix}_{column}"))
        conn.execute(schema.schema_migrations.insert().values(version=2, description="old", applied_at=NOW))
    assert migrations.migrate(db) == 2
    with db.read() as conn:
        assert all(sa.inspect(conn).has_table(name) for name in ("users", "user_changes", "users_pending"))
