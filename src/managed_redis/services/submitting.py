"""Submitting an operation on a caller's behalf and answering with it, as every service does."""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message
from sqlalchemy.engine import Connection
from yandex.cloud.operation import operation_pb2

from managed_redis.operations.submit import OperationQueue, Submission, Submitter
from managed_redis.services.context import Caller
from managed_redis.services.operation_view import operation_proto


def submit_operation(
    queue: OperationQueue,
    caller: Caller,
    kind: str,
    request: Message,
    prepare: Callable[[Connection], Submission],
) -> operation_pb2.Operation:
    """``prepare`` runs in the submitting transaction and says what to submit."""
    submitter = Submitter(caller.authenticated.subject_id, caller.idempotency_key)
    return operation_proto(queue.submit(submitter, kind, request, prepare))
