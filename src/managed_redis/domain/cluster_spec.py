"""A cluster's declared state as stored in its ``spec`` column, in the official messages.

``spec["cluster"]`` is proto3 JSON of a ``Cluster`` holding only the declared top-level
fields (description, labels, environment, flags, maintenance windows, ...);
``spec["config_spec"]`` is proto3 JSON of the ``ConfigSpec`` with the password removed.
Storing the API's own messages keeps the stored form and the API in step.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from yandex.cloud.mdb.redis.v1 import cluster_pb2, cluster_service_pb2

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
    stored = cluster_service_pb2.ConfigSpec()
    stored.CopyFrom(config_spec)
    stored.redis.password = ""
    return {
        "cluster": json_format.MessageToDict(declared),
        "config_spec": json_format.MessageToDict(stored),
    }
