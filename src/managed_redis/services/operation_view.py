"""Operation rows as the API shows them: ``yandex.cloud.operation.Operation``."""

from __future__ import annotations

from google.protobuf import any_pb2
from google.rpc import status_pb2
from yandex.cloud.operation import operation_pb2

from managed_redis.domain.timestamps import timestamp
from managed_redis.store.operations import OperationRecord


def operation_proto(record: OperationRecord) -> operation_pb2.Operation:
    operation = operation_pb2.Operation(
        id=record.id,
        description=record.description,
        created_at=timestamp(record.created_at),
        created_by=record.created_by,
        modified_at=timestamp(record.modified_at),
        done=record.done,
        metadata=any_pb2.Any.FromString(record.metadata),
    )
    if record.error is not None:
        operation.error.CopyFrom(status_pb2.Status.FromString(record.error))
    elif record.response is not None:
        operation.response.CopyFrom(any_pb2.Any.FromString(record.response))
    return operation
