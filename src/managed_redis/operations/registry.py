"""The catalogue of long-running operations: each kind, the request it works from, its handler.

A reader sees here every operation the service can run. ``HandlerSpec.on_error`` (if any)
runs once when the operation fails, to leave things as the failure promises (a failed
create leaves no process running and the cluster in ERROR).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from yandex.cloud.access import access_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.errors import ApiError
from managed_redis.operations.context import OperationContext
from managed_redis.operations.handlers import access, clusters, failover, hosts, update

Handler = Callable[[OperationContext[Any]], Message]
ErrorHook = Callable[[OperationContext[Any], ApiError], None]


@dataclass(frozen=True)
class HandlerSpec:
    request_type: type[Message]
    run: Handler
    on_error: ErrorHook | None = None


def default_handlers() -> Mapping[str, HandlerSpec]:
    """Every operation kind the service runs, by kind."""
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
        "cluster.set_access_bindings": HandlerSpec(access_pb2.SetAccessBindingsRequest, access.set_access_bindings),
        "cluster.update_access_bindings": HandlerSpec(
            access_pb2.UpdateAccessBindingsRequest, access.update_access_bindings
        ),
    }
