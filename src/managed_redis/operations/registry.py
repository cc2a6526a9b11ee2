"""The catalogue of long-running operations: each kind, the request it works from, its handler.

A reader sees here every operation the service can run. ``HandlerSpec.on_error`` (if any)
runs once when the operation fails, to leave things as the failure promises (a failed
create leaves no process running and the cluster in ERROR). ``HandlerSpec.limits`` bounds
each kind (``limits.py``): at most 5 attempts (claims) each, and a deadline from creation
sized to the work (``LIMITS``): minutes for metadata changes, an hour or two for changes
that restart or sync hosts, 6 h for those that move data (restore, backups, slots).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from yandex.cloud.access import access_pb2
from yandex.cloud.mdb.redis.v1 import backup_retention_policy_service_pb2 as retention_service_pb
from yandex.cloud.mdb.redis.v1 import backup_service_pb2 as backup_service_pb
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.errors import ApiError
from managed_redis.operations.context import OperationContext
from managed_redis.operations.handlers import (
    access,
    backups,
    clusters,
    failover,
    hosts,
    restore,
    retention,
    shards,
    update,
)
from managed_redis.operations.limits import Limits

# Operations that leave processes alone, so the supervisor keeps healing while they run.
HEAL_DURING = frozenset({"cluster.backup", "cluster.backup.automated", "cluster.set_access_bindings"})

Handler = Callable[[OperationContext[Any]], Message]
ErrorHook = Callable[[OperationContext[Any], ApiError], None]


MINUTE_S = 60.0
HOUR_S = 3600.0
# The deadline of each kind, counted from its creation (every kind: at most 5 attempts).
LIMITS: Mapping[str, Limits] = {
    "cluster.create": Limits(deadline_s=HOUR_S),
    "cluster.restore": Limits(deadline_s=6 * HOUR_S),
    "cluster.delete": Limits(deadline_s=30 * MINUTE_S),
    "cluster.stop": Limits(deadline_s=30 * MINUTE_S),
    "cluster.start": Limits(deadline_s=HOUR_S),
    "cluster.move": Limits(deadline_s=5 * MINUTE_S),
    "cluster.update": Limits(deadline_s=2 * HOUR_S),
    "cluster.failover": Limits(deadline_s=30 * MINUTE_S),
    "cluster.add_hosts": Limits(deadline_s=2 * HOUR_S),
    "cluster.delete_hosts": Limits(deadline_s=30 * MINUTE_S),
    "cluster.update_hosts": Limits(deadline_s=HOUR_S),
    "cluster.add_shard": Limits(deadline_s=HOUR_S),
    "cluster.delete_shard": Limits(deadline_s=6 * HOUR_S),
    "cluster.rebalance": Limits(deadline_s=6 * HOUR_S),
    "cluster.enable_sharding": Limits(deadline_s=2 * HOUR_S),
    "cluster.backup": Limits(deadline_s=6 * HOUR_S),
    "cluster.backup.automated": Limits(deadline_s=6 * HOUR_S),
    "backup.delete": Limits(deadline_s=30 * MINUTE_S),
    "retention_policy.create": Limits(deadline_s=5 * MINUTE_S),
    "retention_policy.delete": Limits(deadline_s=5 * MINUTE_S),
    "cluster.set_access_bindings": Limits(deadline_s=5 * MINUTE_S),
    "cluster.update_access_bindings": Limits(deadline_s=5 * MINUTE_S),
}


@dataclass(frozen=True)
class HandlerSpec:
    request_type: type[Message]
    run: Handler
    on_error: ErrorHook | None = None
    limits: Limits = field(default_factory=Limits)


def default_handlers() -> Mapping[str, HandlerSpec]:
    """Every operation kind the service runs, by kind, each with its ``LIMITS``."""
    return {kind: dataclasses.replace(spec, limits=LIMITS[kind]) for kind, spec in _handlers().items()}


def _handlers() -> Mapping[str, HandlerSpec]:
    return {
        "cluster.create": HandlerSpec(service_pb.CreateClusterRequest, clusters.create_cluster, clusters.create_failed),
        "cluster.delete": HandlerSpec(service_pb.DeleteClusterRequest, clusters.delete_cluster),
        "cluster.stop": HandlerSpec(service_pb.StopClusterRequest, clusters.stop_cluster),
        "cluster.start": HandlerSpec(service_pb.StartClusterRequest, clusters.start_cluster, clusters.start_failed),
        "cluster.move": HandlerSpec(service_pb.MoveClusterRequest, clusters.move_cluster),
        "cluster.update": HandlerSpec(service_pb.UpdateClusterRequest, update.update_cluster),
        "cluster.failover": HandlerSpec(service_pb.StartClusterFailoverRequest, failover.start_failover),
        "cluster.add_hosts": HandlerSpec(service_pb.AddClusterHostsRequest, hosts.add_hosts, hosts.add_hosts_failed),
        "cluster.delete_hosts": HandlerSpec(service_pb.DeleteClusterHostsRequest, hosts.delete_hosts),
        "cluster.update_hosts": HandlerSpec(service_pb.UpdateClusterHostsRequest, hosts.update_hosts),
        "cluster.add_shard": HandlerSpec(service_pb.AddClusterShardRequest, shards.add_shard, shards.add_shard_failed),
        "cluster.delete_shard": HandlerSpec(service_pb.DeleteClusterShardRequest, shards.delete_shard),
        "cluster.rebalance": HandlerSpec(service_pb.RebalanceClusterRequest, shards.rebalance),
        "cluster.enable_sharding": HandlerSpec(
            service_pb.EnableShardingClusterRequest, shards.enable_sharding, shards.enable_sharding_failed
        ),
        "cluster.backup": HandlerSpec(service_pb.BackupClusterRequest, backups.backup_cluster, backups.backup_failed),
        "cluster.backup.automated": HandlerSpec(
            service_pb.BackupClusterRequest, backups.backup_automated, backups.backup_failed
        ),
        "cluster.restore": HandlerSpec(
            service_pb.RestoreClusterRequest, restore.restore_cluster, clusters.create_failed
        ),
        "backup.delete": HandlerSpec(backup_service_pb.DeleteBackupRequest, backups.delete_backup),
        "retention_policy.create": HandlerSpec(
            retention_service_pb.CreateBackupRetentionPolicyRequest, retention.create_policy
        ),
        "retention_policy.delete": HandlerSpec(
            retention_service_pb.DeleteBackupRetentionPolicyRequest, retention.delete_policy
        ),
        "cluster.set_access_bindings": HandlerSpec(access_pb2.SetAccessBindingsRequest, access.set_access_bindings),
        "cluster.update_access_bindings": HandlerSpec(
            access_pb2.UpdateAccessBindingsRequest, access.update_access_bindings
        ),
    }
