"""The one error tree of the service: every failure a caller can see is one of these.

Each class carries its google.rpc code; the transports turn it into a gRPC status or an
HTTP status with a google.rpc.Status body (see ``api/status.py``), and the operation
engine stores it as an operation's ``error``::

    ApiError                      code
    ├── InvalidArgument           INVALID_ARGUMENT (3)   bad field; carries field violations
    ├── NotFound                  NOT_FOUND (5)           also a LookupError
    ├── AlreadyExists             ALREADY_EXISTS (6)
    ├── PermissionDenied          PERMISSION_DENIED (7)
    ├── ResourceExhausted         RESOURCE_EXHAUSTED (8)
    ├── FailedPrecondition        FAILED_PRECONDITION (9)  a state blocks the request
    ├── DeadlineExceeded          DEADLINE_EXCEEDED (4)  an operation ran past its deadline
    ├── Aborted                   ABORTED (10)
    ├── Unimplemented             UNIMPLEMENTED (12)
    ├── Internal                  INTERNAL (13)
    ├── Unavailable               UNAVAILABLE (14)
    ├── DataLoss                  DATA_LOSS (15)
    ├── Unauthenticated           UNAUTHENTICATED (16)
    └── Cancelled                 CANCELLED (1)

Messages say what was wrong and, where it helps, what to do about it. They never carry
secrets, stack traces or the server's file paths (``without_paths`` takes those out of
text that comes from below, such as an engine failure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from google.rpc import code_pb2


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path (``host_specs[0].zone_id``) and what is wrong."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}"


class ApiError(Exception):
    """A failure with a google.rpc code and a message fit for the caller."""

    code: ClassVar[int] = code_pb2.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ApiError):
    code = code_pb2.INVALID_ARGUMENT

    def __init__(self, message: str, violations: list[FieldViolation] | None = None) -> None:
        super().__init__(message)
        self.violations = violations or []

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        violation = FieldViolation(field, description)
        return cls(str(violation), [violation])

    @classmethod
    def fields(cls, violations: list[FieldViolation]) -> InvalidArgument:
        return cls("; ".join(str(v) for v in violations), violations)


class NotFound(ApiError, LookupError):
    """What was asked for is not there; a LookupError too, for code that looks things up."""

    code = code_pb2.NOT_FOUND


class AlreadyExists(ApiError):
    code = code_pb2.ALREADY_EXISTS


class PermissionDenied(ApiError):
    code = code_pb2.PERMISSION_DENIED


class ResourceExhausted(ApiError):
    code = code_pb2.RESOURCE_EXHAUSTED


class FailedPrecondition(ApiError):
    code = code_pb2.FAILED_PRECONDITION


class DeadlineExceeded(ApiError):
    code = code_pb2.DEADLINE_EXCEEDED


class Aborted(ApiError):
    code = code_pb2.ABORTED


class Unimplemented(ApiError):
    code = code_pb2.UNIMPLEMENTED


class Internal(ApiError):
    code = code_pb2.INTERNAL


class Unavailable(ApiError):
    code = code_pb2.UNAVAILABLE


class DataLoss(ApiError):
    code = code_pb2.DATA_LOSS


class Unauthenticated(ApiError):
    code = code_pb2.UNAUTHENTICATED


class Cancelled(ApiError):
    code = code_pb2.CANCELLED


# An absolute path of two or more parts, not inside a URL or an address (127.0.0.0/8).
_PATH = re.compile(r"(?<![\w.:/~-])(?:/[\w.@+~-]+){2,}/?")


def without_paths(text: str) -> str:
    """``text`` with each absolute file path cut to its last part: ``see …/redis.log``."""
    return _PATH.sub(lambda found: "…/" + found.group(0).rstrip("/").rsplit("/", 1)[-1], text)
