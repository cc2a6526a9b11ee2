"""Cluster rows as the API shows them: ``yandex.cloud.mdb.redis.v1.Cluster``."""

from __future__ import annotations

from google.type import timeofday_pb2
from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.domain import redis_config
from managed_redis.domain.backup_schedule import DEFAULT_RETAIN_DAYS, DEFAULT_WINDOW_HOUR
from managed_redis.domain.cluster_spec import config_spec_of, declared_of
from managed_redis.domain.timestamps import timestamp
from managed_redis.store.clusters import ClusterRecord

DEFAULT_BACKUP_WINDOW = timeofday_pb2.TimeOfDay(hours=DEFAULT_WINDOW_HOUR)


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
    for name in ("access", "disk_size_autoscaling", "modules", "monium_logs", "shard_autoscaling_settings"):
        if spec.HasField(name):
            getattr(config, name).CopyFrom(getattr(spec, name))
    config.backup_window_start.CopyFrom(
        spec.backup_window_start if spec.HasField("backup_window_start") else DEFAULT_BACKUP_WINDOW
    )
    config.backup_retain_period_days.value = (
        spec.backup_retain_period_days.value if spec.HasField("backup_retain_period_days") else DEFAULT_RETAIN_DAYS
    )
    user = redis_config.user_values(spec.redis)
    config.redis.user_config.CopyFrom(redis_config.to_message(user))
    config.redis.effective_config.CopyFrom(redis_config.to_message(redis_config.effective_values(spec.redis)))
    config.redis.default_config.CopyFrom(redis_config.to_message(redis_config.default_values()))
    return cluster
