"""Hosts as the API shows them: ``yandex.cloud.mdb.redis.v1.Host``, with role and health as last seen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from google.protobuf import wrappers_pb2
from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.domain.cluster_spec import config_spec_of
from managed_redis.domain.topology import DEFAULT_REPLICA_PRIORITY
from managed_redis.operations.health import host_health
from managed_redis.operations.views import ClusterView
from managed_redis.store.clusters import ClusterRecord, HostRecord

ServiceHealth = cluster_pb2.Service.Health


def host_protos(
    record: ClusterRecord, hosts: Sequence[HostRecord], view: ClusterView, now: dt.datetime
) -> list[cluster_pb2.Host]:
    """Every host of the cluster; role and health are unknown where nothing fresh was seen."""
    resources = config_spec_of(record).resources
    protos = []
    for host in hosts:
        proto = cluster_pb2.Host(
            name=host.name,
            cluster_id=host.cluster_id,
            zone_id=host.zone_id,
            subnet_id=host.subnet_id,
            resources=resources,
            shard_name=host.shard_name,
            replica_priority=wrappers_pb2.Int64Value(
                value=DEFAULT_REPLICA_PRIORITY if host.replica_priority is None else host.replica_priority
            ),
            assign_public_ip=host.assign_public_ip,
        )
        health = host_health(view, view.host(host.name), now)
        proto.role = health.role
        proto.health = health.health
        for service_type, alive in health.services:
            proto.services.add(type=service_type, health=ServiceHealth.ALIVE if alive else ServiceHealth.DEAD)
        protos.append(proto)
    return protos
