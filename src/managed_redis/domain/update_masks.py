"""What an ``update_mask`` asks to change, for every request that carries one.

- UpdateCluster: a FieldMask over ``UpdateClusterRequest``. Paths use the request's field
  names (``config_spec.redis.maxmemory_policy``); the version-named config fields
  (``config_spec.redis_config_7_2.…``) mean ``config_spec.redis``. Only the listed paths
  change, and a listed field the request leaves out is reset (``masked_update``).
- UpdateClusterHosts: one FieldMask per ``UpdateHostSpec``, over ``replica_priority`` and
  ``assign_public_ip``; an empty mask means both (``host_spec_values``).
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf import field_mask_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.errors import FieldViolation, InvalidArgument

PASSWORD_PATH = "config_spec.redis.password"
HOST_SPEC_PATHS = frozenset({"replica_priority", "assign_public_ip"})
_CLUSTER_REQUEST = service_pb.UpdateClusterRequest.DESCRIPTOR


def unknown_paths(field: str, paths: Iterable[str]) -> FieldViolation:
    """The violation naming the mask ``field`` and the ``paths`` it may not hold."""
    return FieldViolation(field, f"unknown paths: {', '.join(paths)}")


def cluster_mask_paths(paths: Iterable[str]) -> list[str]:
    """UpdateCluster's mask paths with ``config_spec.redis_config_<version>`` read as
    ``config_spec.redis``, in their order."""
    normalized = []
    for path in paths:
        parts = path.split(".")
        if len(parts) >= 2 and parts[0] == "config_spec" and parts[1].startswith("redis_config_"):
            parts[1] = "redis"
        normalized.append(".".join(parts))
    return normalized


def _valid_path(path: str) -> bool:
    return bool(field_mask_pb2.FieldMask(paths=[path]).IsValidForDescriptor(_CLUSTER_REQUEST))


def _cluster_mask(request: service_pb.UpdateClusterRequest) -> field_mask_pb2.FieldMask:
    """The request's mask without ``cluster_id`` (which names the cluster, not a change).

    Raises:
        InvalidArgument: on ``update_mask``, listing the paths that are no field of the request.
    """
    mask = field_mask_pb2.FieldMask(paths=[p for p in request.update_mask.paths if p != "cluster_id"])
    if not mask.IsValidForDescriptor(_CLUSTER_REQUEST):
        unknown = [
            p for p in mask.paths if not field_mask_pb2.FieldMask(paths=[p]).IsValidForDescriptor(_CLUSTER_REQUEST)
        ]
        raise InvalidArgument.fields([unknown_paths("update_mask", unknown)])
    return mask


def masked_update(
    current: service_pb.UpdateClusterRequest, request: service_pb.UpdateClusterRequest
) -> tuple[service_pb.UpdateClusterRequest, bool]:
    """``current`` with the masked paths taken from ``request`` (its mask already read by
    ``cluster_mask_paths``), and whether the mask reaches the password.

    Raises:
        InvalidArgument: on ``update_mask``, for paths that are no field of the request.
    """
    mask = _cluster_mask(request)
    # A masked field the request leaves out is reset, even when its parent is left out too
    # (protobuf's merge would skip the whole absent parent).
    source = service_pb.UpdateClusterRequest()
    source.CopyFrom(request)
    for path in mask.paths:
        message = source
        for part in path.split(".")[:-1]:
            message = getattr(message, part)
        message.SetInParent()
    state = service_pb.UpdateClusterRequest()
    state.CopyFrom(current)
    mask.MergeMessage(source, state, replace_message_field=True, replace_repeated_field=True)
    touches_password = any(PASSWORD_PATH.startswith(path) for path in mask.paths)
    return state, touches_password


def host_spec_problems(spec: service_pb.UpdateHostSpec, path: str) -> list[FieldViolation]:
    """``<path>.update_mask`` when it lists what a host cannot change; else nothing."""
    unknown = set(spec.update_mask.paths) - HOST_SPEC_PATHS
    return [unknown_paths(f"{path}.update_mask", sorted(unknown))] if unknown else []


def host_spec_values(spec: service_pb.UpdateHostSpec) -> dict[str, int | bool | None]:
    """The ``hosts`` columns the spec sets: ``replica_priority`` (None: the default) and
    ``assign_public_ip``, those its mask lists, or both when it lists none."""
    paths = set(spec.update_mask.paths) or HOST_SPEC_PATHS
    values: dict[str, int | bool | None] = {}
    if "replica_priority" in paths:
        values["replica_priority"] = spec.replica_priority.value if spec.HasField("replica_priority") else None
    if "assign_public_ip" in paths:
        values["assign_public_ip"] = spec.assign_public_ip
    return values
