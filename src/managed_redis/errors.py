"""The one error tree of the service: every exception class the package defines is in it.

``ManagedRedisError`` is the root. Under ``ApiError`` are the answers: each class carries
its google.rpc code, the transports turn it into a gRPC status or an HTTP status with a
google.rpc.Status body (``api/status.py``), and the operation worker stores it as an
operation's ``error``. Under ``InternalError`` are our own failures and signals: each is
caught inside the server and turned into an answer (named below), and one that escapes
its catcher is INTERNAL naming only a reference the server log has (never its text)::

    ManagedRedisError                    code                     raised when / becomes
    ├── ApiError                         its class's              the answer, code and message
    │   ├── InvalidArgument              INVALID_ARGUMENT (3)     a bad field; carries field violations
    │   ├── NotFound                     NOT_FOUND (5)            not there, or not visible; a LookupError
    │   ├── AlreadyExists                ALREADY_EXISTS (6)       a name taken in the folder or cluster
    │   ├── PermissionDenied             PERMISSION_DENIED (7)    the caller sees it but lacks the role
    │   ├── ResourceExhausted            RESOURCE_EXHAUSTED (8)
    │   │   └── AddressesExhausted       RESOURCE_EXHAUSTED (8)   engine/addresses.py: a host network full
    │   ├── FailedPrecondition           FAILED_PRECONDITION (9)  a state blocks the request
    │   ├── DeadlineExceeded             DEADLINE_EXCEEDED (4)    an operation ran past its deadline
    │   ├── Aborted                      ABORTED (10)             a race lost; an operation past its attempt cap
    │   ├── Unimplemented                UNIMPLEMENTED (12)       an RPC the server does not implement
    │   │   └── MethodNotAllowed         UNIMPLEMENTED (12)       api/transcoding.py: REST 405 with Allow
    │   ├── Internal                     INTERNAL (13)            what an InternalError or a bug becomes
    │   ├── DataLoss                     DATA_LOSS (15)           a backup file missing or corrupt
    │   └── Unauthenticated              UNAUTHENTICATED (16)     no token, or not a valid one
    └── InternalError                    INTERNAL (13)            never an answer as itself:
        ├── EngineError                  INTERNAL (13)            engine/errors.py: fails an operation
        │   │                                                     quoting its message, paths cut
        │   └── KubeError                INTERNAL (13)            engine/kubernetes/api.py: the Kubernetes
        │                                                         API refused a call or is unreachable
        ├── BackupObjectMissing          INTERNAL (13)            backup_store/base.py: restore answers DATA_LOSS
        ├── ChecksumMismatch             INTERNAL (13)            backup_store/stream.py: restore answers DATA_LOSS
        ├── VaultError                   INTERNAL (13)            vault.py: stored secrets unreadable
        ├── CronError (ValueError)       INTERNAL (13)            domain/cron.py: a policy's cron field is
        │                                                         INVALID_ARGUMENT naming it
        ├── LeaseLost                    INTERNAL (13)            operations/context.py: the worker lets go
        │                                                         of the operation; no answer from it
        ├── SettingsError (ValueError)   INTERNAL (13)            settings.py: ``mredis`` exits 2 at start
        ├── TokensFileError (ValueError) INTERNAL (13)            api/auth.py: logged; the tokens read
        │                                                         before stay in force
        ├── AnswerError                  INTERNAL (13)            client_cli/api_client.py: the API's answer
        │                                                         (its code in ``rpc_code``) as the mredis
        │                                                         client prints it; exits 1
        └── private signals              INTERNAL (13)            caught in their own module:
                                                                  engine/rdb_header.py ``_NotUnderstood``,
                                                                  operations/supervisor.py ``_Changed``,
                                                                  operations/scheduler.py ``_WindowTaken``

Beside our own, the engine lets ``redis.RedisError`` and ``OSError`` through and the store
SQLAlchemy's errors; the transports and the worker answer those as INTERNAL naming only a
reference, like an escaped ``InternalError``. ``tests/unit/test_error_tree.py`` fails when
a class is defined outside this tree or missing from this drawing.

Messages say what was wrong and, where it helps, what to do about it. They never carry
secrets, stack traces or the server's file paths (``without_paths`` takes those out of
text that comes from below, such as an engine failure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Self

from google.protobuf.message import Message
from google.rpc import code_pb2


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path (``host_specs[0].zone_id``) and what is wrong."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}"


class ManagedRedisError(Exception):
    """The root of the tree; ``code`` is the google.rpc code a caller ends up with."""

    code: ClassVar[int] = code_pb2.UNKNOWN


class ApiError(ManagedRedisError):
    """A failure with a google.rpc code and a message fit for the caller; ``details`` are
    protobuf messages the google.rpc.Status carries besides (``ChangeFreezeErrorCode``, say),
    set with ``with_details``."""

    details: tuple[Message, ...] = ()

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def with_details(self, *details: Message) -> Self:
        """This error, carrying ``details`` in its google.rpc.Status too."""
        self.details = (*self.details, *details)
        return self


class InvalidArgument(ApiError):
    """A request field is wrong; ``violations`` name each bad field."""

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
    """A name is taken: a cluster's in its folder, a shard's in its cluster."""

    code = code_pb2.ALREADY_EXISTS


class PermissionDenied(ApiError):
    """The caller sees the resource but lacks the role the call needs."""

    code = code_pb2.PERMISSION_DENIED


class ResourceExhausted(ApiError):
    """Something the server hands out has run short."""

    code = code_pb2.RESOURCE_EXHAUSTED


class FailedPrecondition(ApiError):
    """The resource's state blocks the request; the message says what would unblock it."""

    code = code_pb2.FAILED_PRECONDITION


class DeadlineExceeded(ApiError):
    """An operation ran past its deadline; the message names the limit."""

    code = code_pb2.DEADLINE_EXCEEDED


class Aborted(ApiError):
    """A race was lost (try again), or an operation gave up past its attempt cap."""

    code = code_pb2.ABORTED


class Unimplemented(ApiError):
    """An RPC of a served service that this server does not implement."""

    code = code_pb2.UNIMPLEMENTED


class Internal(ApiError):
    """The server failed; the caller's message names a reference, the log has the rest."""

    code = code_pb2.INTERNAL

    @classmethod
    def logged_under(cls, reference: str) -> Internal:
        """The answer for a failure whose details the server log has under ``reference``."""
        return cls(f"internal error; the server log has the details under {reference}")


class DataLoss(ApiError):
    """Stored data is missing or corrupt (a backup's file); nothing was changed."""

    code = code_pb2.DATA_LOSS


class Unauthenticated(ApiError):
    """The call has no token, or one the server does not know."""

    code = code_pb2.UNAUTHENTICATED


class InternalError(ManagedRedisError):
    """Our own failure or signal, caught inside the server and turned into an answer there.

    One that escapes its catcher is INTERNAL naming a reference (``Internal.logged_under``);
    its own text goes only to the log. The one exception is ``EngineError`` failing an
    operation: its message (which host, what happened; paths cut) is the operation's error.
    """

    code = code_pb2.INTERNAL


# An absolute path of two or more parts, not inside a URL or an address (127.0.0.0/8).
_PATH = re.compile(r"(?<![\w.:/~-])(?:/[\w.@+~-]+){2,}/?")


def without_paths(text: str) -> str:
    """``text`` with each absolute file path cut to its last part: ``see …/redis.log``."""
    return _PATH.sub(lambda found: "…/" + found.group(0).rstrip("/").rsplit("/", 1)[-1], text)
