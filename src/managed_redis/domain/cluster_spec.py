"""A cluster's declared state as stored in its ``spec`` column, in the official messages.

``spec["cluster"]`` is proto3 JSON of a ``Cluster`` holding only the declared top-level
fields (description, labels, environment, flags, maintenance windows, ...);
``spec["config_spec"]`` is proto3 JSON of the ``ConfigSpec`` with the password removed.
Storing the API's own messages keeps the stored form and the API in step.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
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


# Fields a Cluster and an UpdateClusterRequest share, all of them changeable by Update.
UPDATABLE_FIELDS = (
    "description",
    "labels",
    "security_group_ids",
    "deletion_protection",
    "persistence_mode",
    "network_id",
    "announce_hostnames",
    "auth_sentinel",
    "maintenance_window",
    "maintenance_windows",
)


def copy_field(source: Message, target: Message, name: str) -> None:
    """Make ``target.<name>`` equal ``source.<name>`` (message, repeated, map or scalar)."""
    field = source.DESCRIPTOR.fields_by_name[name]
    if field.is_repeated:
        target.ClearField(name)
        value = getattr(source, name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            getattr(target, name).update(value)
        else:
            getattr(target, name).extend(value)
    elif field.message_type is not None:
        if source.HasField(name):
            getattr(target, name).CopyFrom(getattr(source, name))
        else:
            target.ClearField(name)
    else:
        setattr(target, name, getattr(source, name))


def as_update_request(record: ClusterRecord) -> cluster_service_pb2.UpdateClusterRequest:
    """The cluster's declared state in the shape of an Update request (no password)."""
    declared = declared_of(record)
    state = cluster_service_pb2.UpdateClusterRequest(
        cluster_id=record.id, name=record.name, config_spec=config_spec_of(record)
    )
    for name in UPDATABLE_FIELDS:
        copy_field(declared, state, name)
    return state


def declared_after(record: ClusterRecord, state: cluster_service_pb2.UpdateClusterRequest) -> cluster_pb2.Cluster:
    """The declared Cluster once ``state`` (a full Update-shaped state) is applied."""
    declared = declared_of(record)
    for name in UPDATABLE_FIELDS:
        copy_field(state, declared, name)
    return declared
