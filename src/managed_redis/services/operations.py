"""OperationService: every operation of every service, by id; cancelling one not yet started;
and, beside the API, the steps an operation has done and the one it runs (``progress``)."""

from __future__ import annotations

from typing import Any

from yandex.cloud.operation import operation_pb2
from yandex.cloud.operation import operation_service_pb2 as service_pb

from managed_redis.clock import Clock
from managed_redis.errors import NotFound
from managed_redis.operations.submit import cancel_unstarted
from managed_redis.services.access import Permission
from managed_redis.services.context import Caller
from managed_redis.services.operation_view import operation_proto
from managed_redis.store import access as access_store
from managed_redis.store import operations as op_store
from managed_redis.store.database import Database
from managed_redis.store.operations import OperationRecord


class OperationService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def _load(self, operation_id: str, caller: Caller, permission: Permission) -> OperationRecord:
        principal = caller.authenticated
        with self.db.read() as conn:
            record = op_store.get(conn, operation_id)
            bound = (
                access_store.roles_of(conn, record.cluster_id, principal.subject_id)
                if record is not None and record.cluster_id
                else frozenset()
            )
        if record is None:
            raise NotFound(f"operation {operation_id} does not exist")
        principal.require_on(f"operation {operation_id}", record.folder_id, permission, bound)
        return record

    def get(self, request: service_pb.GetOperationRequest, caller: Caller) -> operation_pb2.Operation:
        return operation_proto(self._load(request.operation_id, caller, Permission.READ))

    def cancel(self, request: service_pb.CancelOperationRequest, caller: Caller) -> operation_pb2.Operation:
        """Cancel an operation no worker has started; any other is returned unchanged."""
        record = self._load(request.operation_id, caller, Permission.MUTATE)
        if not record.done and record.attempts == 0:
            cancel_unstarted(self.db, self.clock, record)
        return operation_proto(self._load(request.operation_id, caller, Permission.READ))

    def progress(self, operation_id: str, caller: Caller) -> dict[str, Any]:
        """The steps of an operation, for the CLI's and the console's progress lines (the API's
        Operation has no field for them): ``{"operationId", "done", "stepsDone": [names in the
        order they finished], "currentStep": name or None}``. A step is named when it starts
        running; an operation not yet started, or between steps, has no current step.
        Raises NotFound if there is no such operation, PermissionDenied if the caller may not
        read it (as Get)."""
        record = self._load(operation_id, caller, Permission.READ)
        progress = record.progress or {}
        return {
            "operationId": record.id,
            "done": record.done,
            "stepsDone": list(progress.get("steps", {})),
            "currentStep": None if record.done else progress.get("running"),
        }
