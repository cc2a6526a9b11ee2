"""ChangeFreezeService: spans in which a cluster's planned maintenance does not start.

The resource of a freeze is a cluster: creating or terminating one needs the right to
change that cluster, reading needs the right to see it; a freeze of a cluster the caller
cannot see is NOT_FOUND, as is a freeze of a deleted cluster. The rules (limits, overlap,
gap, statuses) are ``domain/change_freezes.py``; the status shown follows the injected
clock. List takes a ``resource_path``: its cluster entries list those clusters' freezes,
and a path naming only folders lists the freezes in those folders; ``filter`` supports
``status = "<STATUS>"``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from sqlalchemy.engine import Connection
from yandex.cloud.maintenance.v2 import change_freeze_pb2 as freeze_pb
from yandex.cloud.operation import operation_pb2

from managed_redis.clock import Clock
from managed_redis.domain import change_freezes as rules
from managed_redis.errors import FieldViolation, InvalidArgument, NotFound
from managed_redis.operations import registry
from managed_redis.operations.handlers.change_freezes import (
    CLUSTER_TYPE,
    FOLDER_TYPE,
    freeze_proto,
    refusal_error,
)
from managed_redis.operations.submit import OperationQueue, Submission
from managed_redis.services.access import Permission
from managed_redis.services.cluster_access import load_cluster
from managed_redis.services.cluster_checks import check_cloud_id, raise_if_any
from managed_redis.services.context import Caller
from managed_redis.services.pagination import page_of
from managed_redis.services.submitting import submit_operation
from managed_redis.store import change_freezes as freeze_store
from managed_redis.store.change_freezes import ChangeFreezeRecord
from managed_redis.store.database import Database

_STATUS_FILTER = re.compile(r'^\s*status\s*=\s*"?([A-Za-z_]+)"?\s*$')


def parse_status_filter(text: str) -> rules.FreezeStatus | None:
    """The status a List ``filter`` selects (``status = "ACTIVE"``), or None for no filter.
    Raises InvalidArgument naming ``filter`` for anything else."""
    if not text.strip():
        return None
    match = _STATUS_FILTER.match(text)
    names = ", ".join(rules.FreezeStatus)
    if match is None or match.group(1).upper() not in rules.FreezeStatus.__members__:
        raise InvalidArgument.field("filter", f'only status = "<STATUS>" is supported, STATUS one of {names}')
    return rules.FreezeStatus(match.group(1).upper())


def _time(request: freeze_pb.CreateChangeFreezeRequest, field: Literal["start_at", "end_at"]) -> dt.datetime | None:
    return getattr(request, field).ToDatetime(dt.UTC) if request.HasField(field) else None


def _containers(
    db: Database, request: freeze_pb.ListChangeFreezesRequest, caller: Caller
) -> tuple[list[str], list[str]]:
    """The cluster ids and folder ids a List's ``resource_path`` names, each checked for
    READ. Raises InvalidArgument naming the entry for an unknown type or an empty id."""
    clusters: list[str] = []
    folders: list[str] = []
    problems = []
    for index, entry in enumerate(request.resource_path):
        if not entry.id:
            problems.append(FieldViolation(f"resource_path[{index}].id", "is required"))
        elif entry.type in ("", CLUSTER_TYPE):
            clusters.append(entry.id)
        elif entry.type == FOLDER_TYPE:
            problems += check_cloud_id(entry.id, f"resource_path[{index}].id")
            folders.append(entry.id)
        else:
            problems.append(FieldViolation(f"resource_path[{index}].type", f"must be {CLUSTER_TYPE} or {FOLDER_TYPE}"))
    if not request.resource_path:
        problems.append(FieldViolation("resource_path", "name a cluster or a folder"))
    raise_if_any(problems)
    for cluster_id in clusters:
        load_cluster(db, cluster_id, caller, Permission.READ)
    if not clusters:
        for folder_id in folders:
            caller.authenticated.require(folder_id, Permission.READ)
    return clusters, folders


class ChangeFreezeService:
    def __init__(self, db: Database, queue: OperationQueue, clock: Clock) -> None:
        self.db = db
        self.queue = queue
        self.clock = clock

    def _freeze(self, freeze_id: str, caller: Caller, permission: Permission) -> ChangeFreezeRecord:
        """The freeze, if its cluster exists and the caller may ``permission`` on it."""
        missing = f"change freeze {freeze_id} does not exist"
        with self.db.read() as conn:
            record = freeze_store.get(conn, freeze_id)
        if record is None:
            raise NotFound(missing)
        try:
            load_cluster(self.db, record.resource_id, caller, permission)
        except NotFound:
            raise NotFound(missing) from None
        return record

    def get(self, request: freeze_pb.GetChangeFreezeRequest, caller: Caller) -> freeze_pb.ChangeFreeze:
        return freeze_proto(self._freeze(request.change_freeze_id, caller, Permission.READ), self.clock.now())

    def list(self, request: freeze_pb.ListChangeFreezesRequest, caller: Caller) -> freeze_pb.ListChangeFreezesResponse:
        wanted = parse_status_filter(request.filter)
        clusters, folders = _containers(self.db, request, caller)
        with self.db.read() as conn:
            if clusters:
                records = freeze_store.listed(conn, resource_ids=clusters)
            else:
                records = freeze_store.listed(conn, folder_ids=folders)
        now = self.clock.now()
        if wanted is not None:
            records = [r for r in records if rules.status_at(r, now) is wanted]
        page, token = page_of(records, request.page_size, request.page_token)
        return freeze_pb.ListChangeFreezesResponse(
            change_freezes=[freeze_proto(r, now) for r in page], next_page_token=token
        )

    def get_limits(
        self, request: freeze_pb.GetChangeFreezeLimitsRequest, caller: Caller
    ) -> freeze_pb.ChangeFreezeLimitsResponse:
        load_cluster(self.db, request.resource_id, caller, Permission.READ)
        with self.db.read() as conn:
            records = freeze_store.of_resource(conn, request.resource_id)
        limits = rules.LIMITS
        used = rules.used_in_year(records, self.clock.now().year)
        return freeze_pb.ChangeFreezeLimitsResponse(
            resource_id=request.resource_id,
            constraints=freeze_pb.ChangeFreezeConstraints(
                yearly_limit_seconds=limits.yearly_limit_s,
                max_period_seconds=limits.max_period_s,
                min_gap_seconds=limits.min_gap_s,
                max_advance_seconds=limits.max_advance_s,
            ),
            used_seconds_this_year=used,
            remaining_seconds_this_year=max(0, limits.yearly_limit_s - used),
        )

    def create(self, request: freeze_pb.CreateChangeFreezeRequest, caller: Caller) -> operation_pb2.Operation:
        cluster = load_cluster(self.db, request.resource_id, caller, Permission.MUTATE)
        start, end = _time(request, "start_at"), _time(request, "end_at")
        raise_if_any([FieldViolation(f, "is required") for f, v in (("start_at", start), ("end_at", end)) if v is None])
        assert start is not None and end is not None

        def prepare(conn: Connection) -> Submission:
            existing = freeze_store.of_resource(conn, cluster.id)
            refusal = rules.check_new(start, end, existing, self.clock.now())
            if refusal is not None:
                raise refusal_error(refusal)
            return Submission.of(
                registry.CREATE_CHANGE_FREEZE,
                request,
                freeze_pb.CreateChangeFreezeMetadata(resource_id=cluster.id),
                folder_id=cluster.folder_id,
                cluster_id=cluster.id,
            )

        return submit_operation(self.queue, caller, registry.CREATE_CHANGE_FREEZE, request, prepare)

    def terminate(self, request: freeze_pb.TerminateChangeFreezeRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._freeze(request.change_freeze_id, caller, Permission.MUTATE)

        def prepare(conn: Connection) -> Submission:
            current = freeze_store.get(conn, record.id) or record
            outcome = rules.terminate_at(current, self.clock.now())
            if isinstance(outcome, rules.Refusal):
                raise refusal_error(outcome)
            return Submission.of(
                registry.TERMINATE_CHANGE_FREEZE,
                request,
                freeze_pb.TerminateChangeFreezeMetadata(change_freeze_id=record.id),
                folder_id=record.folder_id,
                cluster_id=record.resource_id,
            )

        return submit_operation(self.queue, caller, registry.TERMINATE_CHANGE_FREEZE, request, prepare)
