"""Submitting an operation on a caller's behalf and answering with it, as every service does;
and answering a call repeated under an Idempotency-Key with the operation it made, before any
check of the service runs (the first call may have changed what those checks see: the cluster
it set busy refuses a second change)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy.engine import Connection
from yandex.cloud.operation import operation_pb2

from managed_redis.operations.kinds import OperationKind
from managed_redis.operations.submit import OperationQueue, Submission, Submitter
from managed_redis.services.context import Caller
from managed_redis.services.operation_view import operation_proto

RequestT = TypeVar("RequestT", bound=Message)


def submit_operation(
    queue: OperationQueue,
    caller: Caller,
    kind: OperationKind[RequestT, Any, Any],
    request: RequestT,
    prepare: Callable[[Connection], Submission],
) -> operation_pb2.Operation:
    """Submit an operation of ``kind`` (``request`` is what a repeated call is compared by);
    ``prepare`` runs in the submitting transaction and says what to submit
    (``Submission.of``). Raises what ``prepare`` and ``OperationQueue.submit`` raise."""
    submitter = Submitter(caller.authenticated.subject_id, caller.idempotency_key, caller.fingerprint)
    return operation_proto(queue.submit(submitter, kind.name, request, prepare))


def replayed_operation(queue: OperationQueue, caller: Caller) -> operation_pb2.Operation | None:
    """The operation the caller already made under the call's Idempotency-Key, or None (no key,
    or none made yet). Raises InvalidArgument (``idempotency_key``) if that operation was made
    by a different call."""
    if not caller.idempotency_key or caller.principal is None:
        return None
    submitter = Submitter(caller.principal.subject_id, caller.idempotency_key, caller.fingerprint)
    record = queue.replay(submitter)
    return operation_proto(record) if record is not None else None
