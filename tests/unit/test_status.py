from __future__ import annotations

from google.rpc import error_details_pb2

from managed_redis.api.status import grpc_code, http_status, to_status
from managed_redis.errors import FailedPrecondition, FieldViolation, InvalidArgument, Unauthenticated


def test_http_statuses_follow_the_yandex_table() -> None:
    assert http_status(FailedPrecondition.code) == 400
    assert http_status(Unauthenticated.code) == 401
    assert grpc_code(Unauthenticated.code).name == "UNAUTHENTICATED"


def test_status_carries_violations_and_request_id() -> None:
    status = to_status(InvalidArgument.field("folder_id", "required"), "req-1")
    assert status.code == 3 and status.message == "folder_id: required"
    bad_request, info = error_details_pb2.BadRequest(), error_details_pb2.RequestInfo()
    assert status.details[0].Unpack(bad_request) and bad_request.field_violations[0].field == "folder_id"
    assert status.details[1].Unpack(info) and info.request_id == "req-1"


def test_a_lone_surrogate_from_a_json_key_is_shown_escaped() -> None:
    status = to_status(InvalidArgument.field("\ud800", "unknown field"), "req-1")
    assert status.message == "\\ud800: unknown field"
    assert status.SerializeToString()


def test_a_status_quoting_a_huge_request_fits_grpc_trailers() -> None:
    """grpc clients refuse trailers past 8 KiB (soft) and 16 KiB (hard): a fuzz-found UNKNOWN."""
    huge = "A" * 20_000
    error = InvalidArgument.fields([FieldViolation(f"{huge}.{index}", f"{huge} is not valid") for index in range(100)])
    status = to_status(error, "req-1")
    assert len(status.SerializeToString()) * 4 / 3 + len(status.message.encode()) < 8192  # base64 + grpc-message
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request) and 0 < len(bad_request.field_violations) <= 8
    assert status.message.endswith("…") and bad_request.field_violations[0].description.endswith("…")
