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
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.errors import ApiError
from managed_redis.operations.context import OperationContext
from managed_redis.operations.handlers import clusters

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
    }
