"""The catalogue of long-running operations: every kind the service runs, each declared once.

A reader sees here every operation the service can run, and everything about each
(``kinds.OperationKind``): the services submit these declarations, the worker runs them,
the supervisor reads ``HEAL_DURING`` from them and the scheduler submits
``AUTOMATED_BACKUP``. Each kind's name is spelt here and nowhere else.

Limits: at most 5 attempts (claims) each, and a deadline from creation sized to the work:
minutes for metadata changes, an hour or two for changes that restart or sync hosts, 6 h
for those that move data (restore, backups, slots).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import empty_pb2
from yandex.cloud.access import access_pb2
from yandex.cloud.maintenance.v2 import change_freeze_pb2 as freeze_pb
from yandex.cloud.maintenance.v2 import common_pb2 as maintenance_pb
from yandex.cloud.mdb.redis.v1 import backup_retention_policy_service_pb2 as retention_service_pb
from yandex.cloud.mdb.redis.v1 import backup_service_pb2 as backup_service_pb
from yandex.cloud.mdb.redis.v1 import cluster_pb2, user_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.mdb.redis.v1 import maintenance_service_pb2 as maintenance_service_pb
from yandex.cloud.mdb.redis.v1 import user_service_pb2 as user_service_pb
from yandex.cloud.mdb.v1 import backup_retention_policy_pb2 as policy_pb

from managed_redis.operations.handlers import (
    access,
    backups,
    change_freezes,
    clusters,
    failover,
    hosts,
    maintenance,
    restore,
    retention,
    shards,
    update,
    users,
)
from managed_redis.operations.kinds import ClusterChange, OperationKind
from managed_redis.operations.limits import Limits
from managed_redis.statuses import ClusterStatus as Status

MINUTE_S = 60.0
HOUR_S = 3600.0

# -- whole clusters -------------------------------------------------------------------------

CREATE_CLUSTER = OperationKind(
    "cluster.create",
    "Create Redis cluster",
    service_pb.CreateClusterRequest,
    service_pb.CreateClusterMetadata,
    cluster_pb2.Cluster,
    clusters.create_cluster,
    clusters.create_failed,
    Limits(deadline_s=HOUR_S),
)
RESTORE_CLUSTER = OperationKind(
    "cluster.restore",
    "Restore Redis cluster",
    service_pb.RestoreClusterRequest,
    service_pb.RestoreClusterMetadata,
    cluster_pb2.Cluster,
    restore.restore_cluster,
    clusters.create_failed,
    Limits(deadline_s=6 * HOUR_S),
)
DELETE_CLUSTER = OperationKind(
    "cluster.delete",
    "Delete Redis cluster",
    service_pb.DeleteClusterRequest,
    service_pb.DeleteClusterMetadata,
    empty_pb2.Empty,
    clusters.delete_cluster,
    limits=Limits(deadline_s=30 * MINUTE_S),
    change=ClusterChange("deleting it", (Status.RUNNING, Status.STOPPED, Status.ERROR), sets_status=None),
)
STOP_CLUSTER = OperationKind(
    "cluster.stop",
    "Stop Redis cluster",
    service_pb.StopClusterRequest,
    service_pb.StopClusterMetadata,
    cluster_pb2.Cluster,
    clusters.stop_cluster,
    limits=Limits(deadline_s=30 * MINUTE_S),
    change=ClusterChange("stopping it", sets_status=Status.STOPPING),
)
START_CLUSTER = OperationKind(
    "cluster.start",
    "Start Redis cluster",
    service_pb.StartClusterRequest,
    service_pb.StartClusterMetadata,
    cluster_pb2.Cluster,
    clusters.start_cluster,
    clusters.start_failed,
    Limits(deadline_s=HOUR_S),
    change=ClusterChange("starting it", (Status.STOPPED,), sets_status=Status.STARTING),
)
MOVE_CLUSTER = OperationKind(
    "cluster.move",
    "Move Redis cluster",
    service_pb.MoveClusterRequest,
    service_pb.MoveClusterMetadata,
    cluster_pb2.Cluster,
    clusters.move_cluster,
    limits=Limits(deadline_s=5 * MINUTE_S),
    change=ClusterChange("moving it", (Status.RUNNING, Status.STOPPED), sets_status=None),
)
UPDATE_CLUSTER = OperationKind(
    "cluster.update",
    "Modify Redis cluster",
    service_pb.UpdateClusterRequest,
    service_pb.UpdateClusterMetadata,
    cluster_pb2.Cluster,
    update.update_cluster,
    limits=Limits(deadline_s=2 * HOUR_S),
    change=ClusterChange("changing it"),
)
START_FAILOVER = OperationKind(
    "cluster.failover",
    "Start manual failover on Redis cluster",
    service_pb.StartClusterFailoverRequest,
    service_pb.StartClusterFailoverMetadata,
    cluster_pb2.Cluster,
    failover.start_failover,
    limits=Limits(deadline_s=30 * MINUTE_S),
    change=ClusterChange("switching its master"),
)

# -- hosts and shards -----------------------------------------------------------------------

ADD_HOSTS = OperationKind(
    "cluster.add_hosts",
    "Add hosts to Redis cluster",
    service_pb.AddClusterHostsRequest,
    service_pb.AddClusterHostsMetadata,
    empty_pb2.Empty,
    hosts.add_hosts,
    hosts.add_hosts_failed,
    Limits(deadline_s=2 * HOUR_S),
    change=ClusterChange("adding hosts"),
)
DELETE_HOSTS = OperationKind(
    "cluster.delete_hosts",
    "Delete hosts from Redis cluster",
    service_pb.DeleteClusterHostsRequest,
    service_pb.DeleteClusterHostsMetadata,
    empty_pb2.Empty,
    hosts.delete_hosts,
    limits=Limits(deadline_s=30 * MINUTE_S),
    change=ClusterChange("deleting hosts"),
)
UPDATE_HOSTS = OperationKind(
    "cluster.update_hosts",
    "Modify hosts in Redis cluster",
    service_pb.UpdateClusterHostsRequest,
    service_pb.UpdateClusterHostsMetadata,
    empty_pb2.Empty,
    hosts.update_hosts,
    limits=Limits(deadline_s=HOUR_S),
    change=ClusterChange("changing hosts"),
)
ADD_SHARD = OperationKind(
    "cluster.add_shard",
    "Add shard to Redis cluster",
    service_pb.AddClusterShardRequest,
    service_pb.AddClusterShardMetadata,
    cluster_pb2.Shard,
    shards.add_shard,
    shards.add_shard_failed,
    Limits(deadline_s=HOUR_S),
    change=ClusterChange("adding a shard"),
)
DELETE_SHARD = OperationKind(
    "cluster.delete_shard",
    "Delete shard from Redis cluster",
    service_pb.DeleteClusterShardRequest,
    service_pb.DeleteClusterShardMetadata,
    empty_pb2.Empty,
    shards.delete_shard,
    limits=Limits(deadline_s=6 * HOUR_S),
    change=ClusterChange("deleting a shard"),
)
REBALANCE_CLUSTER = OperationKind(
    "cluster.rebalance",
    "Rebalance slot distribution in Redis cluster",
    service_pb.RebalanceClusterRequest,
    service_pb.RebalanceClusterMetadata,
    cluster_pb2.Cluster,
    shards.rebalance,
    limits=Limits(deadline_s=6 * HOUR_S),
    change=ClusterChange("rebalancing it"),
)
ENABLE_SHARDING = OperationKind(
    "cluster.enable_sharding",
    "Enable sharding on Redis cluster",
    service_pb.EnableShardingClusterRequest,
    service_pb.EnableShardingClusterMetadata,
    cluster_pb2.Cluster,
    shards.enable_sharding,
    shards.enable_sharding_failed,
    Limits(deadline_s=2 * HOUR_S),
    change=ClusterChange("enabling sharding"),
)

# -- backups and their policies ---------------------------------------------------------------

BACKUP_CLUSTER = OperationKind(
    "cluster.backup",
    "Create backup for Redis cluster",
    service_pb.BackupClusterRequest,
    service_pb.BackupClusterMetadata,
    cluster_pb2.Cluster,
    backups.backup_cluster,
    backups.backup_failed,
    Limits(deadline_s=6 * HOUR_S),
    heal_during=True,
    change=ClusterChange("backing it up", sets_status=None),
)
AUTOMATED_BACKUP = OperationKind(
    "cluster.backup.automated",
    "Create automatic backup for Redis cluster",
    service_pb.BackupClusterRequest,
    service_pb.BackupClusterMetadata,
    cluster_pb2.Cluster,
    backups.backup_automated,
    backups.backup_failed,
    Limits(deadline_s=6 * HOUR_S),
    heal_during=True,
)
DELETE_BACKUP = OperationKind(
    "backup.delete",
    "Delete Redis backup",
    backup_service_pb.DeleteBackupRequest,
    backup_service_pb.DeleteBackupMetadata,
    empty_pb2.Empty,
    backups.delete_backup,
    limits=Limits(deadline_s=30 * MINUTE_S),
    locks_cluster=False,
)
CREATE_RETENTION_POLICY = OperationKind(
    "retention_policy.create",
    "Create backup retention policy for Redis cluster",
    retention_service_pb.CreateBackupRetentionPolicyRequest,
    policy_pb.CreateBackupRetentionPolicyMetadata,
    policy_pb.BackupRetentionPolicy,
    retention.create_policy,
    limits=Limits(deadline_s=5 * MINUTE_S),
    locks_cluster=False,
)
DELETE_RETENTION_POLICY = OperationKind(
    "retention_policy.delete",
    "Delete backup retention policy of Redis cluster",
    retention_service_pb.DeleteBackupRetentionPolicyRequest,
    policy_pb.DeleteBackupRetentionPolicyMetadata,
    empty_pb2.Empty,
    retention.delete_policy,
    limits=Limits(deadline_s=5 * MINUTE_S),
    locks_cluster=False,
)

# -- Redis users ------------------------------------------------------------------------------

# The cluster keeps its status: a user change restarts nothing.
USER_CHANGE = ClusterChange("changing its users", sets_status=None)

CREATE_USER = OperationKind(
    "user.create",
    "Create user in Redis cluster",
    user_service_pb.CreateUserRequest,
    user_service_pb.CreateUserMetadata,
    user_pb2.User,
    users.create_user,
    limits=Limits(deadline_s=10 * MINUTE_S),
    change=USER_CHANGE,
)
UPDATE_USER = OperationKind(
    "user.update",
    "Modify user in Redis cluster",
    user_service_pb.UpdateUserRequest,
    user_service_pb.UpdateUserMetadata,
    user_pb2.User,
    users.update_user,
    limits=Limits(deadline_s=10 * MINUTE_S),
    change=USER_CHANGE,
)
DELETE_USER = OperationKind(
    "user.delete",
    "Delete user from Redis cluster",
    user_service_pb.DeleteUserRequest,
    user_service_pb.DeleteUserMetadata,
    empty_pb2.Empty,
    users.delete_user,
    limits=Limits(deadline_s=10 * MINUTE_S),
    change=USER_CHANGE,
)

# -- access bindings --------------------------------------------------------------------------

SET_ACCESS_BINDINGS = OperationKind(
    "cluster.set_access_bindings",
    "Change access bindings of Redis cluster",
    access_pb2.SetAccessBindingsRequest,
    access_pb2.SetAccessBindingsMetadata,
    access_pb2.AccessBindingsOperationResult,
    access.set_access_bindings,
    limits=Limits(deadline_s=5 * MINUTE_S),
    locks_cluster=False,
    heal_during=True,
)
UPDATE_ACCESS_BINDINGS = OperationKind(
    "cluster.update_access_bindings",
    "Change access bindings of Redis cluster",
    access_pb2.UpdateAccessBindingsRequest,
    access_pb2.UpdateAccessBindingsMetadata,
    access_pb2.AccessBindingsOperationResult,
    access.update_access_bindings,
    limits=Limits(deadline_s=5 * MINUTE_S),
    locks_cluster=False,
)

# -- change freezes (records only: a freeze holds back maintenance, it touches no host) --------

CREATE_CHANGE_FREEZE = OperationKind(
    "change_freeze.create",
    "Create change freeze for Redis cluster",
    freeze_pb.CreateChangeFreezeRequest,
    freeze_pb.CreateChangeFreezeMetadata,
    freeze_pb.ChangeFreeze,
    change_freezes.create_freeze,
    limits=Limits(deadline_s=5 * MINUTE_S),
    locks_cluster=False,
)
TERMINATE_CHANGE_FREEZE = OperationKind(
    "change_freeze.terminate",
    "Terminate change freeze of Redis cluster",
    freeze_pb.TerminateChangeFreezeRequest,
    freeze_pb.TerminateChangeFreezeMetadata,
    freeze_pb.TerminateChangeFreezeResponse,
    change_freezes.terminate_freeze,
    limits=Limits(deadline_s=5 * MINUTE_S),
    locks_cluster=False,
)

# -- planned maintenance (handlers/maintenance.py) ------------------------------------------------

# Submitted by the maintenance scheduler; restarts every host like Update, so no healing beside it.
RUN_MAINTENANCE = OperationKind(
    "cluster.maintenance",
    "Maintenance of Redis cluster",
    maintenance_pb.GetMaintenanceRequest,
    service_pb.UpdateClusterMetadata,
    cluster_pb2.Cluster,
    maintenance.run_maintenance,
    limits=Limits(deadline_s=2 * HOUR_S),
    change=ClusterChange("running its maintenance"),
)
# The new time is stored when these are submitted; the operations answer with the result.
RESCHEDULE_MAINTENANCE = OperationKind(
    "cluster.reschedule_maintenance",
    "Reschedule maintenance of Redis cluster",
    service_pb.RescheduleMaintenanceRequest,
    service_pb.RescheduleMaintenanceMetadata,
    cluster_pb2.Cluster,
    maintenance.rescheduled_cluster,
    limits=Limits(deadline_s=5 * MINUTE_S),
    locks_cluster=False,
)
RESCHEDULE_MAINTENANCE_V2 = OperationKind(
    "maintenance.reschedule",
    "Reschedule maintenance of Redis cluster",
    maintenance_pb.RescheduleMaintenanceRequest,
    maintenance_service_pb.RescheduleMaintenanceV2Metadata,
    maintenance_pb.Maintenance,
    maintenance.rescheduled_maintenance,
    limits=Limits(deadline_s=5 * MINUTE_S),
    locks_cluster=False,
)

# Kinds of different request, metadata and response types, hence Any in the collection.
KINDS: tuple[OperationKind[Any, Any, Any], ...] = (
    CREATE_CLUSTER,
    RESTORE_CLUSTER,
    DELETE_CLUSTER,
    STOP_CLUSTER,
    START_CLUSTER,
    MOVE_CLUSTER,
    UPDATE_CLUSTER,
    START_FAILOVER,
    ADD_HOSTS,
    DELETE_HOSTS,
    UPDATE_HOSTS,
    ADD_SHARD,
    DELETE_SHARD,
    REBALANCE_CLUSTER,
    ENABLE_SHARDING,
    BACKUP_CLUSTER,
    AUTOMATED_BACKUP,
    DELETE_BACKUP,
    CREATE_RETENTION_POLICY,
    DELETE_RETENTION_POLICY,
    SET_ACCESS_BINDINGS,
    UPDATE_ACCESS_BINDINGS,
    CREATE_USER,
    UPDATE_USER,
    DELETE_USER,
    CREATE_CHANGE_FREEZE,
    TERMINATE_CHANGE_FREEZE,
    RUN_MAINTENANCE,
    RESCHEDULE_MAINTENANCE,
    RESCHEDULE_MAINTENANCE_V2,
)

# Operations that leave processes alone, so the supervisor keeps healing while they run.
HEAL_DURING = frozenset(kind.name for kind in KINDS if kind.heal_during)


def by_name() -> Mapping[str, OperationKind[Any, Any, Any]]:
    """Every operation kind the service runs, by its stored name (what a worker runs)."""
    return {kind.name: kind for kind in KINDS}
