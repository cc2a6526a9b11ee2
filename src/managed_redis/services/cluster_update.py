"""What an UpdateClusterRequest asks for: the cluster's whole new declared state.

With an ``update_mask`` only the listed paths change (``domain/update_masks.py``). Without
one, the request replaces the declared state (api.md §1.4), except that what cannot be
empty keeps its value when left out: the name, the network, the version, the resources
and the whole ``config_spec`` when it is absent. The password is write-only: it is never
part of the state, and changing it must be an update of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.domain.cluster_spec import UPDATABLE_FIELDS, as_update_request, copy_field
from managed_redis.domain.update_masks import PASSWORD_PATH, cluster_mask_paths, masked_update
from managed_redis.errors import FailedPrecondition, InvalidArgument
from managed_redis.services.cluster_checks import normalized_config_spec
from managed_redis.store.clusters import ClusterRecord


@dataclass(frozen=True)
class UpdatePlan:
    state: service_pb.UpdateClusterRequest
    password: str
    changed_paths: tuple[str, ...]


def _normalized_request(request: service_pb.UpdateClusterRequest) -> service_pb.UpdateClusterRequest:
    result = service_pb.UpdateClusterRequest()
    result.CopyFrom(request)
    if request.HasField("config_spec"):
        result.config_spec.CopyFrom(normalized_config_spec(request.config_spec))
    result.update_mask.paths[:] = cluster_mask_paths(request.update_mask.paths)
    return result


def _replaced(
    current: service_pb.UpdateClusterRequest, request: service_pb.UpdateClusterRequest
) -> service_pb.UpdateClusterRequest:
    state = service_pb.UpdateClusterRequest(cluster_id=current.cluster_id)
    for name in UPDATABLE_FIELDS:
        copy_field(request, state, name)
    state.name = request.name or current.name
    state.network_id = request.network_id or current.network_id
    if request.HasField("config_spec"):
        state.config_spec.CopyFrom(request.config_spec)
        state.config_spec.version = request.config_spec.version or current.config_spec.version
        if not request.config_spec.HasField("resources"):
            state.config_spec.resources.CopyFrom(current.config_spec.resources)
    else:
        state.config_spec.CopyFrom(current.config_spec)
    if not state.HasField("maintenance_window"):
        state.maintenance_window.CopyFrom(current.maintenance_window)
    return state


def plan_update(record: ClusterRecord, request: service_pb.UpdateClusterRequest) -> UpdatePlan:
    current = as_update_request(record)
    incoming = _normalized_request(request)
    if incoming.update_mask.paths:
        state, touches_password = masked_update(current, incoming)
    else:
        state, touches_password = _replaced(current, incoming), True
    password = incoming.config_spec.redis.password if touches_password else ""
    state.config_spec.redis.password = ""
    state.update_mask.Clear()
    changed = tuple(name for name in ("name", *UPDATABLE_FIELDS, "config_spec") if _field_differs(current, state, name))
    if password and changed:
        raise InvalidArgument.field(
            PASSWORD_PATH, "a password change cannot be combined with other changes; send it in an update of its own"
        )
    if not password and not changed:
        raise FailedPrecondition("no changes detected")
    return UpdatePlan(state, password, changed)


def _field_differs(a: service_pb.UpdateClusterRequest, b: service_pb.UpdateClusterRequest, name: str) -> bool:
    left, right = service_pb.UpdateClusterRequest(), service_pb.UpdateClusterRequest()
    copy_field(a, left, name)
    copy_field(b, right, name)
    return left != right
