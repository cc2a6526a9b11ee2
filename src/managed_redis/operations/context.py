"""What a handler works with while it runs one operation, and the signals it can raise.

A handler is a list of steps. ``ctx.once(name, fn)`` runs a step the first time and, after
a crash, returns the remembered result instead of running it again; every step is still
written to be safe to run twice, because a worker can die between doing a step and
recording it. ``ctx.checkpoint()`` saves what the handler chose to remember, and stops the
operation (DEADLINE_EXCEEDED) once it is past its ``deadline``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, Self, TypeVar

from google.protobuf import any_pb2
from google.protobuf.message import Message

from managed_redis.clock import Clock
from managed_redis.errors import InternalError
from managed_redis.operations.deps import Deps
from managed_redis.operations.limits import deadline_error
from managed_redis.store import operations as op_store
from managed_redis.store.database import Database
from managed_redis.store.operations import OperationRecord

T = TypeVar("T")
# Covariant: a helper taking OperationContext[Message] serves every handler.
RequestT_co = TypeVar("RequestT_co", bound=Message, covariant=True)
MessageT = TypeVar("MessageT", bound=Message)
log = logging.getLogger(__name__)


class JsonRecord(Protocol):
    """A step's result as a dataclass that keeps itself as JSON (``BackupFile``, for one)."""

    @classmethod
    def from_json(cls, entry: Mapping[str, Any], /) -> Self: ...

    def to_json(self) -> dict[str, Any]: ...


RecordT = TypeVar("RecordT", bound=JsonRecord)


class LeaseLost(InternalError):
    """This worker no longer owns the operation; another one has taken it over."""


class OperationContext(Generic[RequestT_co]):
    """One attempt at one operation: its row, its request, what it may use (``deps``)."""

    def __init__(
        self,
        db: Database,
        record: OperationRecord,
        owner: str,
        request: RequestT_co,
        deps: Deps | None,
        clock: Clock,
        deadline: tuple[dt.datetime, float] | None = None,
    ) -> None:
        """``deadline``: (when, its length in seconds for the message), or None for none.
        ``deps``: None only for workers of kinds that use none (tests)."""
        self.db = db
        self.deadline = deadline
        self.record = record
        self.owner = owner
        self._request = request
        self._deps = deps
        self.clock = clock
        self.progress: dict[str, Any] = dict(record.progress or {})
        self.progress.setdefault("steps", {})

    @property
    def request(self) -> RequestT_co:
        """The request the operation works from, as stored at submission."""
        return self._request

    @property
    def deps(self) -> Deps:
        """The engine, vault, CA, backup store and settings; RuntimeError for a worker built without them."""
        if self._deps is None:
            raise RuntimeError(f"operation {self.record.id} ({self.record.kind}) needs a worker with dependencies")
        return self._deps

    @property
    def operation_id(self) -> str:
        return self.record.id

    @property
    def cluster_id(self) -> str:
        if self.record.cluster_id is None:
            raise RuntimeError(f"operation {self.record.id} has no cluster")
        return self.record.cluster_id

    def metadata(self, message_type: type[MessageT]) -> MessageT:
        """The operation's metadata, unpacked (it may carry ids chosen at submission)."""
        packed = any_pb2.Any.FromString(self.record.metadata)
        message = message_type()
        packed.Unpack(message)
        return message

    @property
    def resumed(self) -> bool:
        """True when an earlier attempt ran (part of) this operation."""
        return self.record.attempts > 1

    def done(self, step: str) -> bool:
        return step in self.progress["steps"]

    def once(self, step: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` unless an earlier attempt finished this step; checkpoint its result.

        The result must be JSON-serializable (or None); it is what later attempts get back.
        """
        steps = self.progress["steps"]
        if step in steps:
            log.debug("operation %s: step %r already done", self.record.id, step)
            return steps[step]  # type: ignore[no-any-return]
        started = time.monotonic()
        # Saved before it runs: what a caller following the operation is told it waits on.
        self.progress["running"] = step
        self.checkpoint()
        result = fn()
        log.info("operation %s: step %r took %.3f s", self.record.id, step, time.monotonic() - started)
        steps[step] = result
        self.progress.pop("running", None)
        self.checkpoint()
        return result

    def once_as(self, step: str, record_type: type[RecordT], fn: Callable[[], RecordT]) -> RecordT:
        """``once`` for a step whose result is a record: kept as its ``to_json()``, given back
        (this attempt or a later one) as ``record_type.from_json`` of that."""
        record: RecordT = record_type.from_json(self.once(step, lambda: fn().to_json()))
        return record

    def result(self, step: str) -> Any:
        """What ``step`` returned in this or an earlier attempt, as kept (JSON); None if not done."""
        return self.progress["steps"].get(step)

    def remember(self, key: str, value: Any) -> None:
        """Keep a value for later attempts; saved with the next checkpoint."""
        self.progress.setdefault("data", {})[key] = value

    def recall(self, key: str, default: Any = None) -> Any:
        return self.progress.get("data", {}).get(key, default)

    def checkpoint(self) -> None:
        with self.db.write() as conn:
            saved = op_store.save_progress(conn, self.record.id, self.owner, self.clock.now(), self.progress)
        if not saved:
            raise LeaseLost(self.record.id)
        if self.deadline is not None and self.clock.now() >= self.deadline[0]:
            raise deadline_error(self.record, self.deadline[1])
