"""Cluster rows as the API shows them: ``yandex.cloud.mdb.redis.v1.Cluster``."""

from __future__ import annotations

from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.domain.cluster_spec import config_spec_of, declared_of
from managed_redis.domain.timestamps import timestamp
from managed_redis.store.clusters import ClusterRecord


def cluster_proto(
    record: ClusterRecord,
    health: cluster_pb2.Cluster.Health.ValueType = cluster_pb2.Cluster.Health.HEALTH_UNKNOWN,
) -> cluster_pb2.Cluster:
    cluster = declared_of(record)
    cluster.id = record.id
    cluster.folder_id = record.folder_id
    cluster.name = record.name
    cluster.created_at.CopyFrom(timestamp(record.created_at))
    cluster.status = cluster_pb2.Cluster.Status.Value(record.status)
    cluster.health = health
    cluster.sharded = record.sharded
    spec = config_spec_of(record)
    config = cluster.config
    config.version = spec.version
    if spec.HasField("resources"):
        config.resources.CopyFrom(spec.resources)
    if spec.HasField("backup_window_start"):
        config.backup_window_start.CopyFrom(spec.backup_window_start)
    if spec.HasField("redis"):
        config.redis.user_config.CopyFrom(spec.redis)
    return cluster
