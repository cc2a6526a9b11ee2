"""Cluster rows as the API shows them: ``yandex.cloud.mdb.redis.v1.Cluster``.

A cluster's ``spec`` column holds what the user declared, as proto3 JSON of two official
messages: ``spec["cluster"]`` (a ``Cluster`` with only its declared top-level fields) and
``spec["config_spec"]`` (the ``ConfigSpec``, password removed).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from yandex.cloud.mdb.redis.v1 import cluster_pb2, cluster_service_pb2

from managed_redis.services.operation_view import timestamp
from managed_redis.store.clusters import ClusterRecord


def config_spec_of(record: ClusterRecord) -> cluster_service_pb2.ConfigSpec:
    spec = cluster_service_pb2.ConfigSpec()
    json_format.ParseDict(record.spec.get("config_spec", {}), spec)
    return spec


def declared_of(record: ClusterRecord) -> cluster_pb2.Cluster:
    cluster = cluster_pb2.Cluster()
    json_format.ParseDict(record.spec.get("cluster", {}), cluster)
    return cluster


def spec_json(declared: cluster_pb2.Cluster, config_spec: cluster_service_pb2.ConfigSpec) -> dict[str, Any]:
    return {
        "cluster": json_format.MessageToDict(declared),
        "config_spec": json_format.MessageToDict(config_spec),
    }


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
