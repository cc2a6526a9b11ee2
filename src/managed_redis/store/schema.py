"""The tables of the metadata store, as they are now (``migrations.py`` gets older ones here).

Times are stored as integer microseconds since the epoch (UTC) so that SQLite and
PostgreSQL sort and compare them the same way; protobuf payloads (operation requests,
metadata, results) are stored as their serialized bytes, opaque to this layer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData()


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime stored as microseconds since the epoch."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> int | None:
        """Microseconds since the epoch. Raises ValueError (a StatementError by the time it reaches
        the caller) for a naive datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware ones")
        delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    def process_result_value(self, value: int | None, dialect: Any) -> dt.datetime | None:
        """The aware UTC datetime of stored microseconds."""
        if value is None:
            return None
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=value)


schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)

clusters = sa.Table(
    "clusters",
    metadata,
    sa.Column("id", sa.String(50), primary_key=True),
    sa.Column("folder_id", sa.String(50), nullable=False, index=True),
    sa.Column("name", sa.String(63), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("sharded", sa.Boolean, nullable=False, default=False),
    # Everything else the user declared, as the JSON the service layer reads back.
    sa.Column("spec", sa.JSON, nullable=False),
    # Encrypted passwords (see vault.py); never returned by the API.
    sa.Column("secrets", sa.LargeBinary, nullable=True),
    # The one running mutating operation, if any: set and cleared with compare-and-set.
    sa.Column("active_operation_id", sa.String(50), nullable=True),
    # Set while the supervisor heals the cluster: operations wait until it is past or cleared.
    sa.Column("healing_until", UtcDateTime, nullable=True),
    # Which supervisor (its lease owner) set ``healing_until``: a supervisor that takes the lease
    # from a dead holder ends that holder's healings at once (``end_healing_by``).
    sa.Column("healing_by", sa.String(100), nullable=True),
    # Bumped by every write that changes what reads show (the row, its shards, hosts, host
    # facts), so a rendered answer can be reused while the revision stays the same.
    sa.Column("revision", sa.BigInteger, nullable=False, default=0, server_default="0"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # The full server version (``7.0.15``) the hosts were last started on; NULL: not recorded
    # (a cluster older than this column), read as the version installed (handlers/maintenance.py).
    sa.Column("running_version", sa.String(32), nullable=True),
    sa.UniqueConstraint("folder_id", "name", name="uq_clusters_folder_name"),
)

shards = sa.Table(
    "shards",
    metadata,
    sa.Column("cluster_id", sa.String(50), sa.ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(63), primary_key=True),
    # The last master seen (by an operation or the supervisor): where a cold start begins.
    sa.Column("master_host", sa.String(253), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

hosts = sa.Table(
    "hosts",
    metadata,
    sa.Column("name", sa.String(253), primary_key=True),
    sa.Column(
        "cluster_id",
        sa.String(50),
        sa.ForeignKey("clusters.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("shard_name", sa.String(63), nullable=False),
    sa.Column("zone_id", sa.String(50), nullable=False),
    sa.Column("subnet_id", sa.String(50), nullable=False, default=""),
    sa.Column("address", sa.String(45), nullable=False, unique=True),
    sa.Column("replica_priority", sa.Integer, nullable=True),
    sa.Column("assign_public_ip", sa.Boolean, nullable=False, default=False),
    # ACTIVE, or ADDING/REMOVING while an operation brings it in or takes it out.
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# What the supervisor last saw of each host (engine/facts.py as JSON), with when it looked
# (NULL: not since the supervisor now watching took over) and when Redis last answered: the
# API's health and the supervisor's decisions read these.
host_facts = sa.Table(
    "host_facts",
    metadata,
    sa.Column("host_name", sa.String(253), sa.ForeignKey("hosts.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("cluster_id", sa.String(50), nullable=False, index=True),
    sa.Column("checked_at", UtcDateTime, nullable=True),
    sa.Column("answered_at", UtcDateTime, nullable=True),
    sa.Column("facts", sa.JSON, nullable=False),
)

# Who does a job that one process at a time must do (the supervisor), until when.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    # The holder's process (lease_holders.py): a process on its machine may take the lease of
    # one that is gone without waiting for it to expire. NULL: not told (taken once expired).
    sa.Column("holder_machine", sa.String(200), nullable=True),
    sa.Column("holder_pid", sa.Integer, nullable=True),
    sa.Column("holder_pid_started", sa.BigInteger, nullable=True),
)

# The customer's Redis users of a cluster (not ``default``, which is the cluster's password):
# what every host of the cluster is to hold. Passwords only as SHA-256 hex digests, as
# Redis's ACL takes them; ``acl_options`` is the user as a host last described it.
users = sa.Table(
    "users",
    metadata,
    sa.Column("cluster_id", sa.String(50), sa.ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("password_sha256", sa.JSON, nullable=False),
    sa.Column("permissions", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("acl_options", sa.Text, nullable=False, default=""),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# A user as it was before the change an operation was submitted to make (``before`` None: it did
# not exist), kept until the operation runs, so that cancelling it before it starts puts the
# user back.
user_changes = sa.Table(
    "user_changes",
    metadata,
    sa.Column("operation_id", sa.String(50), primary_key=True),
    sa.Column("cluster_id", sa.String(50), sa.ForeignKey("clusters.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("before", sa.JSON, nullable=True),
)

# A host that was running but did not answer when its cluster's users changed: it holds old
# users in memory until the supervisor gives it the declared ones (its users.acl is current).
users_pending = sa.Table(
    "users_pending",
    metadata,
    sa.Column("cluster_id", sa.String(50), sa.ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("host_name", sa.String(100), primary_key=True),
)

access_bindings = sa.Table(
    "access_bindings",
    metadata,
    sa.Column("cluster_id", sa.String(50), sa.ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("subject_id", sa.String(100), primary_key=True),
    sa.Column("role_id", sa.String(64), primary_key=True),
    sa.Column("subject_type", sa.String(100), nullable=False),
)

operations = sa.Table(
    "operations",
    metadata,
    sa.Column("id", sa.String(50), primary_key=True),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("description", sa.String(256), nullable=False),
    sa.Column("folder_id", sa.String(50), nullable=False),
    sa.Column("cluster_id", sa.String(50), nullable=True, index=True),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("modified_at", UtcDateTime, nullable=False),
    sa.Column("done", sa.Boolean, nullable=False, default=False, index=True),
    # Serialized protobufs: the request the handler works from (secrets stripped),
    # the metadata Any, and one of response Any / google.rpc.Status.
    sa.Column("request", sa.LargeBinary, nullable=False),
    sa.Column("metadata", sa.LargeBinary, nullable=False),
    sa.Column("response", sa.LargeBinary, nullable=True),
    sa.Column("error", sa.LargeBinary, nullable=True),
    sa.Column("idempotency_key", sa.String(128), nullable=True),
    sa.Column("request_fingerprint", sa.String(64), nullable=False),
    # Whether the operation holds its cluster's active_operation_id.
    sa.Column("locks_cluster", sa.Boolean, nullable=False, default=True),
    sa.Column("lease_owner", sa.String(100), nullable=True),
    sa.Column("lease_expires_at", UtcDateTime, nullable=True),
    # The lease holder's process (lease_holders.py), as for ``leases``.
    sa.Column("lease_machine", sa.String(200), nullable=True),
    sa.Column("lease_pid", sa.Integer, nullable=True),
    sa.Column("lease_pid_started", sa.BigInteger, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    # The handler's checkpoint: steps done and whatever they chose to remember.
    sa.Column("progress", sa.JSON, nullable=False),
    sa.UniqueConstraint("created_by", "idempotency_key", name="uq_operations_idempotency"),
)
sa.Index("ix_operations_cluster_created", operations.c.cluster_id, operations.c.created_at)

backups = sa.Table(
    "backups",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("folder_id", sa.String(50), nullable=False, index=True),
    # No foreign key: a backup outlives its cluster (for 7 days, or as a policy says).
    sa.Column("source_cluster_id", sa.String(50), nullable=False, index=True),
    sa.Column("type", sa.String(20), nullable=False),  # AUTOMATED or MANUAL
    sa.Column("status", sa.String(20), nullable=False),  # CREATING, DONE
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=True),
    # [BackupFile.to_json()] (store/backups.py), one per shard, and what a restore starts from.
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("source", sa.JSON, nullable=False),
    sa.Column("cluster_deleted_at", UtcDateTime, nullable=True),
)

# Automatic backup windows already taken, so that none is ever taken twice.
backup_windows = sa.Table(
    "backup_windows",
    metadata,
    sa.Column("cluster_id", sa.String(50), primary_key=True),
    sa.Column("window_start", UtcDateTime, primary_key=True),
    sa.Column("operation_id", sa.String(50), nullable=False),
)

retention_policies = sa.Table(
    "retention_policies",
    metadata,
    sa.Column("id", sa.String(50), primary_key=True),
    sa.Column("cluster_id", sa.String(50), nullable=False, index=True),
    sa.Column("folder_id", sa.String(50), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("description", sa.String(1024), nullable=False, default=""),
    sa.Column("minute", sa.String(100), nullable=False, default="*"),
    sa.Column("hour", sa.String(100), nullable=False, default="*"),
    sa.Column("day_of_month", sa.String(100), nullable=False, default="*"),
    sa.Column("month", sa.String(100), nullable=False, default="*"),
    sa.Column("day_of_week", sa.String(100), nullable=False, default="*"),
    sa.Column("retain_for_days", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# Planned maintenance of a cluster (MaintenanceService, Cluster.planned_operation): what it
# does, when it is to start, and how far it got. One SCHEDULED or RUNNING row per cluster.
maintenances = sa.Table(
    "maintenances",
    metadata,
    sa.Column("id", sa.String(50), primary_key=True),
    # No foreign key: the row stays (CANCELLED) after its cluster is deleted.
    sa.Column("cluster_id", sa.String(50), nullable=False, index=True),
    sa.Column("folder_id", sa.String(50), nullable=False, index=True),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("description", sa.String(256), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # SCHEDULED, RUNNING, SUCCEEDED, CANCELLED
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("first_scheduled_at", UtcDateTime, nullable=False),
    sa.Column("start_scheduled_at", UtcDateTime, nullable=False),
    sa.Column("max_start_scheduled_at", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=True),
    sa.Column("succeeded_at", UtcDateTime, nullable=True),
    sa.Column("cancelled_at", UtcDateTime, nullable=True),
    sa.Column("operation_id", sa.String(50), nullable=True),
)

# At most one SCHEDULED or RUNNING maintenance per cluster, whatever two schedulers (two
# ``serve`` processes on one PostgreSQL) plan at the same moment: the second insert fails.
_ACTIVE_MAINTENANCE = maintenances.c.status.in_(["SCHEDULED", "RUNNING"])
sa.Index(
    "uq_maintenances_one_active",
    maintenances.c.cluster_id,
    unique=True,
    sqlite_where=_ACTIVE_MAINTENANCE,
    postgresql_where=_ACTIVE_MAINTENANCE,
)

# Change freezes (ChangeFreezeService): spans in which no maintenance of the resource starts.
change_freezes = sa.Table(
    "change_freezes",
    metadata,
    sa.Column("id", sa.String(50), primary_key=True),
    sa.Column("resource_id", sa.String(50), nullable=False, index=True),
    sa.Column("folder_id", sa.String(50), nullable=False, index=True),
    sa.Column("start_at", UtcDateTime, nullable=False),
    sa.Column("end_at", UtcDateTime, nullable=False),
    sa.Column("reason", sa.String(256), nullable=False, default=""),
    sa.Column("status", sa.String(20), nullable=False),  # SCHEDULED, ACTIVE, COMPLETED, CANCELLED
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_by", sa.String(100), nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=True),
    sa.Column("terminated_at", UtcDateTime, nullable=True),
)
