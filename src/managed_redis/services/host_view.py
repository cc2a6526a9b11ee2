"""Hosts as the API shows them: ``yandex.cloud.mdb.redis.v1.Host``, with live role and health."""

from __future__ import annotations

from google.protobuf import wrappers_pb2
from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.domain.topology import DEFAULT_REPLICA_PRIORITY
from managed_redis.operations.health import HostState
from managed_redis.operations.plans import ClusterPlan

Role = cluster_pb2.Host.Role
ServiceHealth = cluster_pb2.Service.Health


def host_protos(plan: ClusterPlan, states: dict[str, HostState]) -> list[cluster_pb2.Host]:
    """Every host of the cluster; role and health are unknown for hosts not probed (stopped)."""
    resources = plan.config_spec.resources
    hosts = []
    for record in plan.hosts:
        host = cluster_pb2.Host(
            name=record.name,
            cluster_id=record.cluster_id,
            zone_id=record.zone_id,
            subnet_id=record.subnet_id,
            resources=resources,
            shard_name=record.shard_name,
            replica_priority=wrappers_pb2.Int64Value(
                value=DEFAULT_REPLICA_PRIORITY if record.replica_priority is None else record.replica_priority
            ),
            assign_public_ip=record.assign_public_ip,
        )
        state = states.get(record.name)
        if state is not None:
            host.role = {"master": Role.MASTER, "replica": Role.REPLICA}.get(state.role or "", Role.ROLE_UNKNOWN)
            host.health = state.health
            for service_type, alive in state.services:
                host.services.add(type=service_type, health=ServiceHealth.ALIVE if alive else ServiceHealth.DEAD)
        hosts.append(host)
    return hosts
