"""Submitting an operation on a caller's behalf and answering with it, as every service does."""

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
    submitter = Submitter(caller.authenticated.subject_id, caller.idempotency_key)
    return operation_proto(queue.submit(submitter, kind.name, request, prepare))
