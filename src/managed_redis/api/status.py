"""Errors as the wire shows them: a google.rpc.Status, its gRPC code and its HTTP status.

The HTTP statuses are Yandex Cloud's table (api.md §1.3). Every error carries the call's
request id in a ``google.rpc.RequestInfo`` detail; an INVALID_ARGUMENT carries its field
violations in a ``google.rpc.BadRequest``; an error's own ``details`` come before the request id.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from managed_redis.errors import ApiError, InvalidArgument

HTTP_STATUS: dict[int, int] = {
    code_pb2.OK: 200,
    code_pb2.CANCELLED: 499,
    code_pb2.UNKNOWN: 500,
    code_pb2.INVALID_ARGUMENT: 400,
    code_pb2.DEADLINE_EXCEEDED: 504,
    code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409,
    code_pb2.PERMISSION_DENIED: 403,
    code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.FAILED_PRECONDITION: 400,
    code_pb2.ABORTED: 409,
    code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNIMPLEMENTED: 501,
    code_pb2.INTERNAL: 500,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DATA_LOSS: 500,
    code_pb2.UNAUTHENTICATED: 401,
}

GRPC_CODE: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}


# A Status travels in gRPC trailers (``grpc-message`` and, base64, ``grpc-status-details-bin``),
# which clients refuse past 8 KiB (sometimes) and 16 KiB (always): grpc's default soft and
# hard ``max_metadata_size``. However much of a hostile request an error quotes, it stays under.
MESSAGE_CHARS = 1024
FIELD_CHARS = 128
DESCRIPTION_CHARS = 256
VIOLATIONS = 8


def _utf8(text: str, limit: int) -> str:
    # A message may quote a caller's JSON key, and JSON can spell a lone surrogate ("\ud800"),
    # which no protobuf string may hold: it is shown escaped.
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def to_status(error: ApiError, request_id: str) -> status_pb2.Status:
    """``error`` as a google.rpc.Status, every text cut to a size gRPC trailers carry."""
    status = status_pb2.Status(code=error.code, message=_utf8(error.message, MESSAGE_CHARS))
    if isinstance(error, InvalidArgument) and error.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=_utf8(v.field, FIELD_CHARS), description=_utf8(v.description, DESCRIPTION_CHARS)
                )
                for v in error.violations[:VIOLATIONS]
            ]
        )
        status.details.add().Pack(bad_request)
    for detail in error.details:
        status.details.add().Pack(detail)
    info = any_pb2.Any()
    info.Pack(error_details_pb2.RequestInfo(request_id=request_id))
    status.details.append(info)
    return status


def http_status(code: int) -> int:
    return HTTP_STATUS.get(code, 500)


def grpc_code(code: int) -> grpc.StatusCode:
    return GRPC_CODE.get(code, grpc.StatusCode.UNKNOWN)
