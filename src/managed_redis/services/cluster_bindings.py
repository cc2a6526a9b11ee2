"""ClusterService access bindings: roles granted on one cluster."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy.engine import Connection
from yandex.cloud.access import access_pb2
from yandex.cloud.operation import operation_pb2

from managed_redis.errors import FieldViolation
from managed_redis.operations import registry
from managed_redis.operations.kinds import OperationKind
from managed_redis.operations.submit import Submission
from managed_redis.services.access import ROLE_PERMISSIONS, Permission
from managed_redis.services.cluster_base import ClusterServiceBase
from managed_redis.services.cluster_checks import (
    raise_if_any,
)
from managed_redis.services.context import Caller
from managed_redis.services.pagination import page_of
from managed_redis.services.submitting import submit_operation
from managed_redis.store import access as access_store

RequestT = TypeVar("RequestT", bound=Message)
MetadataT = TypeVar("MetadataT", bound=Message)


class ClusterAccessBindings(ClusterServiceBase):
    def list_access_bindings(
        self, request: access_pb2.ListAccessBindingsRequest, caller: Caller
    ) -> access_pb2.ListAccessBindingsResponse:
        record = self._cluster(request.resource_id, caller, Permission.READ)
        with self.db.read() as conn:
            bindings = access_store.list_bindings(conn, record.id)
        page, token = page_of(bindings, request.page_size, request.page_token)
        return access_pb2.ListAccessBindingsResponse(
            access_bindings=[
                access_pb2.AccessBinding(
                    role_id=b.role_id, subject=access_pb2.Subject(id=b.subject_id, type=b.subject_type)
                )
                for b in page
            ],
            next_page_token=token,
        )

    def _change_access(
        self,
        caller: Caller,
        resource_id: str,
        kind: OperationKind[RequestT, MetadataT, Any],
        request: RequestT,
        metadata: MetadataT,
        bindings: Sequence[access_pb2.AccessBinding],
        path: str,
    ) -> operation_pb2.Operation:
        """Submit ``kind`` once every binding (at ``path``) names a known role and a subject."""
        record = self._cluster(resource_id, caller, Permission.MANAGE_ACCESS)
        known = ", ".join(ROLE_PERMISSIONS)
        problems: list[FieldViolation] = []
        for index, binding in enumerate(bindings):
            if binding.role_id not in ROLE_PERMISSIONS:
                problems.append(FieldViolation(f"{path}[{index}].role_id", f"unknown role; known: {known}"))
            if not binding.subject.id:
                problems.append(FieldViolation(f"{path}[{index}].subject.id", "required"))
        raise_if_any(problems)

        def prepare(conn: Connection) -> Submission:
            return Submission.of(kind, request, metadata, folder_id=record.folder_id, cluster_id=record.id)

        return submit_operation(self.queue, caller, kind, request, prepare)

    def set_access_bindings(
        self, request: access_pb2.SetAccessBindingsRequest, caller: Caller
    ) -> operation_pb2.Operation:
        return self._change_access(
            caller,
            request.resource_id,
            registry.SET_ACCESS_BINDINGS,
            request,
            access_pb2.SetAccessBindingsMetadata(resource_id=request.resource_id),
            list(request.access_bindings),
            "access_bindings",
        )

    def update_access_bindings(
        self, request: access_pb2.UpdateAccessBindingsRequest, caller: Caller
    ) -> operation_pb2.Operation:
        return self._change_access(
            caller,
            request.resource_id,
            registry.UPDATE_ACCESS_BINDINGS,
            request,
            access_pb2.UpdateAccessBindingsMetadata(resource_id=request.resource_id),
            [delta.access_binding for delta in request.access_binding_deltas],
            "access_binding_deltas",
        )
