"""Handlers that create and terminate change freezes (the store is all they touch), and the
shapes both they and ``services/change_freezes.py`` answer with: a freeze as the API shows
it, and a rule's refusal as an API error.

The service checks a request before submitting, so a caller hears of a bad range or an
overlap at once; the handler checks again in the transaction that writes, so two freezes
submitted together cannot both take the same time (the later fails its operation).
"""

from __future__ import annotations

import datetime as dt

from yandex.cloud.maintenance.v2 import change_freeze_pb2 as freeze_pb

from managed_redis import ids
from managed_redis.domain import change_freezes as rules
from managed_redis.domain.timestamps import timestamp
from managed_redis.errors import ApiError, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from managed_redis.operations.context import OperationContext
from managed_redis.store import change_freezes as freeze_store
from managed_redis.store.change_freezes import ChangeFreezeRecord

# The type strings of ChangeFreeze.resource_path are not publicly documented (api.md §10.3,
# §10.6 Q6): these follow the cloud's "<service>.<resource>" naming of IAM resource types.
CLUSTER_TYPE = "managed-redis.cluster"
FOLDER_TYPE = "resource-manager.folder"


def freeze_proto(record: ChangeFreezeRecord, now: dt.datetime) -> freeze_pb.ChangeFreeze:
    """The freeze as the API shows it at ``now``: its status follows the clock."""
    message = freeze_pb.ChangeFreeze(
        id=record.id,
        resource_path=[
            freeze_pb.Resource(id=record.resource_id, type=CLUSTER_TYPE),
            freeze_pb.Resource(id=record.folder_id, type=FOLDER_TYPE),
        ],
        start_at=timestamp(record.start_at),
        end_at=timestamp(record.end_at),
        duration_seconds=rules.seconds(record.end_at - record.start_at),
        reason=record.reason,
        created_by=record.created_by,
        created_at=timestamp(record.created_at),
        status=freeze_pb.ChangeFreeze.Status.Value(rules.status_at(record, now)),
        updated_by=record.updated_by or "",
    )
    if record.updated_at is not None:
        message.updated_at.CopyFrom(timestamp(record.updated_at))
    return message


def refusal_error(refusal: rules.Refusal) -> ApiError:
    """The refusal as the API answers it (api.md §10.4 [I]): INVALID_ARGUMENT naming the field
    for a bad time range, FAILED_PRECONDITION for the limits and states, NOT_FOUND for
    missing things; a ``ChangeFreezeErrorCode`` of its type in the google.rpc.Status details,
    the type named in the message too."""
    kind = refusal.error.kind
    code = freeze_pb.ChangeFreezeErrorCode(type=freeze_pb.ChangeFreezeErrorCode.Type.Value(refusal.error.value))
    error: ApiError
    if kind == "invalid":
        violation = FieldViolation(refusal.field or "change_freeze", f"{refusal.message} ({refusal.error})")
        error = InvalidArgument(str(violation), [violation])
    else:
        text = f"{refusal.error}: {refusal.message}"
        error = NotFound(text) if kind == "not_found" else FailedPrecondition(text)
    return error.with_details(code)


def create_freeze(ctx: OperationContext[freeze_pb.CreateChangeFreezeRequest]) -> freeze_pb.ChangeFreeze:
    """Write the freeze (once: its id is chosen in the first attempt), checked again against
    the resource's freezes in the same transaction. Raises the refusal's ApiError."""
    request = ctx.request
    freeze_id: str = ctx.once("choose id", ids.new_id)
    with ctx.db.write() as conn:
        record = freeze_store.get(conn, freeze_id)
        if record is None:
            now = ctx.clock.now()
            start, end = request.start_at.ToDatetime(dt.UTC), request.end_at.ToDatetime(dt.UTC)
            refusal = rules.check_new(start, end, freeze_store.of_resource(conn, request.resource_id), now)
            if refusal is not None:
                raise refusal_error(refusal)
            record = ChangeFreezeRecord(
                id=freeze_id,
                resource_id=request.resource_id,
                folder_id=ctx.record.folder_id,
                start_at=start,
                end_at=end,
                reason=request.reason,
                status=rules.FreezeStatus.SCHEDULED,
                created_by=ctx.record.created_by,
                created_at=now,
            )
            freeze_store.insert(conn, record)
    return freeze_proto(record, ctx.clock.now())


def terminate_freeze(
    ctx: OperationContext[freeze_pb.TerminateChangeFreezeRequest],
) -> freeze_pb.TerminateChangeFreezeResponse:
    """End the freeze now (CANCELLED before its start, COMPLETED while active) unless an earlier
    attempt did; answers what the termination used and returned. Raises NotFound for a freeze
    gone, the refusal's ApiError for one already past."""
    freeze_id = ctx.request.change_freeze_id
    with ctx.db.write() as conn:
        record = freeze_store.get(conn, freeze_id)
        if record is None:
            raise NotFound(f"change freeze {freeze_id} does not exist")
        if record.terminated_at is None:
            now = ctx.clock.now()
            outcome = rules.terminate_at(record, now)
            if isinstance(outcome, rules.Refusal):
                raise refusal_error(outcome)
            record = freeze_store.terminate(conn, freeze_id, status=outcome.status, when=now, by=ctx.record.created_by)
            assert record is not None  # read in this very transaction
    done = rules.terminated(record)
    assert done is not None
    return freeze_pb.TerminateChangeFreezeResponse(
        change_freeze=freeze_proto(record, ctx.clock.now()), used_seconds=done.used_s, returned_seconds=done.returned_s
    )
