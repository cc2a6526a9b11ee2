"""MaintenanceService (List, Get, Reschedule) and ClusterService.RescheduleMaintenance.

What a maintenance is, and when it runs, is in ``operations/handlers/maintenance.py`` and
``operations/maintenance_scheduler.py``; here it is shown and moved (api.md §10.3):

- Reschedule: IMMEDIATE starts it now, whatever its window (and a change freeze: the
  user's later word wins); NEXT_AVAILABLE_WINDOW moves it to the first moment its window is
  open from now; SPECIFIC_TIME to the given time (not in the past, not past
  ``max_start_scheduled_at``: INVALID_ARGUMENT naming ``delayed_until`` / ``scheduled_at``),
  where it then starts whatever the window. Only a SCHEDULED maintenance moves; a cluster
  with none is FAILED_PRECONDITION. The change is stored when the call is made; the
  operation answers with the cluster (or the maintenance).
- List: by ``folder_id`` or ``resource_id`` (a cluster id); ``cloud_id`` is UNIMPLEMENTED
  (this server has folders, no clouds). ``order_by`` is ``<field> [asc|desc]`` of
  created_at, start_scheduled_at, started_at; ``filter`` is terms ``field = "value"`` joined
  by AND, of status, resource_type, resource_id.
- Access: as viewing (List, Get) or changing (Reschedule) the cluster, by the cluster's
  roles in its folder or bound on it; a deleted cluster's maintenances by its folder's.
"""

from __future__ import annotations

import datetime as dt
import re

from google.protobuf import timestamp_pb2
from sqlalchemy.engine import Connection
from yandex.cloud.maintenance.v2 import common_pb2 as maintenance_pb
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.mdb.redis.v1 import maintenance_service_pb2 as maintenance_service_pb
from yandex.cloud.operation import operation_pb2

from managed_redis.domain.cluster_spec import declared_of
from managed_redis.domain.maintenance_windows import first_open_at_or_after, windows_of
from managed_redis.errors import FailedPrecondition, InvalidArgument, NotFound, Unimplemented
from managed_redis.operations import registry
from managed_redis.operations.handlers.maintenance import RESOURCE_TYPE, maintenance_proto
from managed_redis.operations.maintenance_scheduler import FROZEN, RESCHEDULED, start_maintenance
from managed_redis.operations.submit import OperationQueue, Submission
from managed_redis.services.access import Permission
from managed_redis.services.cluster_access import load_cluster
from managed_redis.services.cluster_checks import require_folder_id
from managed_redis.services.context import Caller
from managed_redis.services.pagination import page_of
from managed_redis.services.submitting import submit_operation
from managed_redis.store import access as access_store
from managed_redis.store import clusters as cluster_store
from managed_redis.store import maintenances as store
from managed_redis.store.database import Database
from managed_redis.store.maintenances import MaintenanceRecord, with_detail

IMMEDIATE, NEXT_AVAILABLE_WINDOW, SPECIFIC_TIME = 1, 2, 3  # the same numbers in both enums
TYPE_NAMES = {IMMEDIATE: "IMMEDIATE", NEXT_AVAILABLE_WINDOW: "NEXT_AVAILABLE_WINDOW", SPECIFIC_TIME: "SPECIFIC_TIME"}
_ORDER = re.compile(r"^\s*(created_at|start_scheduled_at|started_at)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)
_TERM = re.compile(r'^\s*(status|resource_type|resource_id)\s*=\s*"([^"]*)"\s*$')


def rescheduled(
    conn: Connection,
    maintenance: MaintenanceRecord,
    kind: int,
    at: timestamp_pb2.Timestamp | None,
    now: dt.datetime,
    field: str,
) -> dt.datetime:
    """Move SCHEDULED ``maintenance`` as ``kind`` asks (``at`` for SPECIFIC_TIME, the request's
    field ``field``); returns its new start. Raises InvalidArgument naming ``field`` or
    ``reschedule_type``, FailedPrecondition when it is not SCHEDULED any more."""
    if maintenance.status != store.SCHEDULED:
        raise FailedPrecondition(
            f"maintenance {maintenance.id} is {maintenance.status}; only a SCHEDULED maintenance can be rescheduled"
        )
    details = with_detail(maintenance.details, FROZEN, None)
    if kind == IMMEDIATE:
        start = now
    elif kind == NEXT_AVAILABLE_WINDOW:
        cluster = cluster_store.get(conn, maintenance.cluster_id)
        windows = windows_of(declared_of(cluster)) if cluster is not None else None
        start = first_open_at_or_after(windows, now)
    elif kind == SPECIFIC_TIME:
        if at is None:
            raise InvalidArgument.field(field, "required for reschedule type SPECIFIC_TIME")
        start = at.ToDatetime(dt.UTC)
        if start < now:
            raise InvalidArgument.field(field, f"{start.isoformat()} is in the past")
        if start > maintenance.max_start_scheduled_at:
            raise InvalidArgument.field(
                field,
                f"{start.isoformat()} is past the latest start of maintenance {maintenance.id}, "
                f"{maintenance.max_start_scheduled_at.isoformat()} (2 weeks after it was first scheduled)",
            )
    else:
        raise InvalidArgument.field("reschedule_type", "must be IMMEDIATE, NEXT_AVAILABLE_WINDOW or SPECIFIC_TIME")
    pinned = TYPE_NAMES[kind] if kind in (IMMEDIATE, SPECIFIC_TIME) else None
    store.update(
        conn,
        maintenance.id,
        maintenance.cluster_id,
        start_scheduled_at=start,
        details=with_detail(details, RESCHEDULED, pinned),
    )
    return start


class ClusterMaintenance:
    """ClusterService.RescheduleMaintenance (mixed into ClusterService)."""

    db: Database
    queue: OperationQueue

    def reschedule_maintenance(
        self, request: service_pb.RescheduleMaintenanceRequest, caller: Caller
    ) -> operation_pb2.Operation:
        record = load_cluster(self.db, request.cluster_id, caller, Permission.MUTATE)
        now = self.queue.clock.now()
        at = request.delayed_until if request.HasField("delayed_until") else None
        moved: list[str] = []

        def prepare(conn: Connection) -> Submission:
            maintenance = store.active_of(conn, record.id)
            if maintenance is None:
                raise FailedPrecondition(f"no maintenance is planned for cluster {record.id}")
            start = rescheduled(conn, maintenance, request.reschedule_type, at, now, "delayed_until")
            moved.append(maintenance.id)
            metadata = service_pb.RescheduleMaintenanceMetadata(cluster_id=record.id)
            metadata.delayed_until.FromDatetime(start)
            return Submission.of(
                registry.RESCHEDULE_MAINTENANCE, request, metadata, folder_id=record.folder_id, cluster_id=record.id
            )

        operation = submit_operation(self.queue, caller, registry.RESCHEDULE_MAINTENANCE, request, prepare)
        if request.reschedule_type == IMMEDIATE and moved:
            start_maintenance(self.queue, moved[0], now)
        return operation


class MaintenanceService:
    def __init__(self, db: Database, queue: OperationQueue) -> None:
        self.db = db
        self.queue = queue

    def _maintenance(self, maintenance_id: str, caller: Caller, permission: Permission) -> MaintenanceRecord:
        """The maintenance, if the caller may ``permission`` on its cluster (NotFound alike
        for a missing one and one the caller may not see)."""
        principal = caller.authenticated
        with self.db.read() as conn:
            maintenance = store.get(conn, maintenance_id)
            cluster = cluster_store.get(conn, maintenance.cluster_id) if maintenance is not None else None
            bound = access_store.roles_of(conn, cluster.id, principal.subject_id) if cluster else frozenset()
        if maintenance is None:
            raise NotFound(f"maintenance {maintenance_id} does not exist")
        folder_id = cluster.folder_id if cluster is not None else maintenance.folder_id
        principal.require_on(f"maintenance {maintenance_id}", folder_id, permission, bound)
        return maintenance

    def get(self, request: maintenance_pb.GetMaintenanceRequest, caller: Caller) -> maintenance_pb.Maintenance:
        return maintenance_proto(self._maintenance(request.maintenance_id, caller, Permission.READ))

    def list(
        self, request: maintenance_pb.ListMaintenancesRequest, caller: Caller
    ) -> maintenance_pb.ListMaintenancesResponse:
        order_by, descending = parse_order(request.order_by)
        status, resource_type, resource_id = parse_filter(request.filter)
        container = request.WhichOneof("container")
        if container == "cloud_id":
            raise Unimplemented("clouds are not modelled here: list maintenances by folder_id or resource_id")
        if container is None:
            raise InvalidArgument.field("folder_id", "one of folder_id, resource_id or cloud_id is required")
        if container == "folder_id":
            require_folder_id(request.folder_id)
            caller.authenticated.require(request.folder_id, Permission.READ)
            query = {"folder_id": request.folder_id}
        else:
            load_cluster(self.db, request.resource_id, caller, Permission.READ)
            query = {"cluster_id": request.resource_id}
        with self.db.read() as conn:
            found = store.listed(conn, **query, status=status, order_by=order_by, descending=descending)
        if resource_type not in (None, RESOURCE_TYPE):
            found = []
        found = [m for m in found if resource_id is None or m.cluster_id == resource_id]
        page, token = page_of(found, request.page_size, request.page_token)
        return maintenance_pb.ListMaintenancesResponse(
            maintenances=[maintenance_proto(m) for m in page], next_page_token=token
        )

    def reschedule(
        self, request: maintenance_pb.RescheduleMaintenanceRequest, caller: Caller
    ) -> operation_pb2.Operation:
        maintenance = self._maintenance(request.maintenance_id, caller, Permission.MUTATE)
        now = self.queue.clock.now()
        at = request.scheduled_at if request.HasField("scheduled_at") else None

        def prepare(conn: Connection) -> Submission:
            current = store.get(conn, maintenance.id)
            if current is None:
                raise NotFound(f"maintenance {maintenance.id} does not exist")
            rescheduled(conn, current, request.reschedule_type, at, now, "scheduled_at")
            metadata = maintenance_service_pb.RescheduleMaintenanceV2Metadata(reschedule_type=request.reschedule_type)
            return Submission.of(
                registry.RESCHEDULE_MAINTENANCE_V2,
                request,
                metadata,
                folder_id=current.folder_id,
                cluster_id=current.cluster_id,
            )

        operation = submit_operation(self.queue, caller, registry.RESCHEDULE_MAINTENANCE_V2, request, prepare)
        if request.reschedule_type == IMMEDIATE:
            start_maintenance(self.queue, maintenance.id, now)
        return operation


def parse_order(text: str) -> tuple[str, bool]:
    """(field, descending) of an ``order_by``; created_at ascending when empty.
    InvalidArgument naming ``order_by`` otherwise."""
    if not text.strip():
        return "created_at", False
    match = _ORDER.match(text)
    if match is None:
        raise InvalidArgument.field(
            "order_by", 'must be "<field> [asc|desc]" of created_at, start_scheduled_at, started_at'
        )
    return match.group(1).lower(), (match.group(2) or "").lower() == "desc"


def parse_filter(text: str) -> tuple[str | None, str | None, str | None]:
    """(status, resource_type, resource_id) a ``filter`` selects (None: any).
    InvalidArgument naming ``filter`` for anything else."""
    chosen: dict[str, str] = {}
    if text.strip():
        for term in re.split(r"\s+AND\s+", text.strip(), flags=re.IGNORECASE):
            match = _TERM.match(term)
            if match is None:
                raise InvalidArgument.field(
                    "filter", 'terms are field = "value" joined by AND, of status, resource_type, resource_id'
                )
            chosen[match.group(1)] = match.group(2)
    status = chosen.get("status")
    if status is not None and status not in (store.SCHEDULED, store.RUNNING, store.SUCCEEDED, store.CANCELLED):
        raise InvalidArgument.field(
            "filter", f"status {status!r} is not one of SCHEDULED, RUNNING, SUCCEEDED, CANCELLED"
        )
    return status, chosen.get("resource_type"), chosen.get("resource_id")
