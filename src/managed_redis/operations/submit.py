"""Submitting an operation: one transaction writes it together with the service's own changes.

The service passes a ``prepare`` function that runs inside the write transaction (its
checks, the cluster's new status, new rows) and returns the ``Submission``, made with
``Submission.of`` from the kind's declaration (``kinds.OperationKind``). Here the
cluster is locked for the operation (one running mutating operation per cluster) and the
operation row is written. An ``Idempotency-Key`` seen before from the same caller returns
the operation created under it, without running ``prepare`` again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from managed_redis import ids
from managed_redis.clock import Clock
from managed_redis.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from managed_redis.operations.kinds import OperationKind
from managed_redis.store import clusters as cluster_store
from managed_redis.store import operations as op_store
from managed_redis.store import users as user_store
from managed_redis.store.database import Database
from managed_redis.store.operations import OperationRecord

RequestT = TypeVar("RequestT", bound=Message)
MetadataT = TypeVar("MetadataT", bound=Message)


@dataclass(frozen=True)
class Submission:
    kind: str
    description: str
    folder_id: str
    cluster_id: str | None
    # What the handler works from; never holds a secret (keep those in the vault).
    request: Message
    metadata: Message
    # False for operations that may run beside others on the cluster.
    locks_cluster: bool = True
    operation_id: str | None = None
    # Undoing the submission if the operation is cancelled before it starts: the cluster
    # status to go back to (None: leave it), or remove the cluster the submission created.
    status_before: str | None = None
    created_cluster: bool = False

    @classmethod
    def of(
        cls,
        kind: OperationKind[RequestT, MetadataT, Any],
        request: RequestT,
        metadata: MetadataT,
        *,
        folder_id: str,
        cluster_id: str | None,
        operation_id: str | None = None,
        status_before: str | None = None,
        created_cluster: bool = False,
    ) -> Submission:
        """An operation of ``kind``: its name, description and locking as the kind declares."""
        return cls(
            kind=kind.name,
            description=kind.description,
            folder_id=folder_id,
            cluster_id=cluster_id,
            request=request,
            metadata=metadata,
            locks_cluster=kind.locks_cluster,
            operation_id=operation_id,
            status_before=status_before,
            created_cluster=created_cluster,
        )


@dataclass(frozen=True)
class Submitter:
    """Who is submitting: the subject and the idempotency key of the call, if any, and the call's
    fingerprint (``services.context.call_fingerprint``; None: the kind's and request's)."""

    subject_id: str
    idempotency_key: str | None
    call_fingerprint: str | None = None


def fingerprint(kind: str, request: Message) -> str:
    digest = hashlib.sha256(kind.encode())
    digest.update(request.SerializeToString(deterministic=True))
    return digest.hexdigest()


class OperationQueue:
    """Writes operations; ``notify`` (if given) wakes an in-process worker afterwards."""

    def __init__(self, db: Database, clock: Clock, notify: Callable[[], None] | None = None) -> None:
        self.db = db
        self.clock = clock
        self.notify = notify

    def submit(
        self,
        submitter: Submitter,
        kind: str,
        request_for_fingerprint: Message,
        prepare: Callable[[Connection], Submission],
    ) -> OperationRecord:
        print_ = submitter.call_fingerprint or fingerprint(kind, request_for_fingerprint)
        if submitter.idempotency_key:
            existing = self._replay(submitter, print_)
            if existing is not None:
                return existing
        try:
            with self.db.write() as conn:
                record = self._write(conn, submitter, print_, prepare(conn))
        except IntegrityError:
            # Another call with the same idempotency key won the race: answer with its operation.
            if submitter.idempotency_key:
                existing = self._replay(submitter, print_)
                if existing is not None:
                    return existing
            raise
        if self.notify is not None:
            self.notify()
        return record

    def replay(self, submitter: Submitter) -> OperationRecord | None:
        """The operation ``submitter`` made under its idempotency key (compared by its call
        fingerprint), or None. Raises InvalidArgument if that operation was made by another call."""
        if not submitter.idempotency_key or not submitter.call_fingerprint:
            return None
        return self._replay(submitter, submitter.call_fingerprint)

    def _replay(self, submitter: Submitter, print_: str) -> OperationRecord | None:
        assert submitter.idempotency_key is not None
        with self.db.read() as conn:
            existing = op_store.find_by_idempotency_key(conn, submitter.subject_id, submitter.idempotency_key)
        if existing is not None and existing.request_fingerprint != print_:
            raise InvalidArgument.field(
                "idempotency_key",
                "this key was already used for a different request; send a new key for a new request",
            )
        return existing

    def _write(self, conn: Connection, submitter: Submitter, print_: str, submission: Submission) -> OperationRecord:
        now = self.clock.now()
        metadata = any_pb2.Any()
        metadata.Pack(submission.metadata)
        record = OperationRecord(
            id=submission.operation_id or ids.new_id(),
            kind=submission.kind,
            description=submission.description,
            folder_id=submission.folder_id,
            cluster_id=submission.cluster_id,
            created_by=submitter.subject_id,
            created_at=now,
            modified_at=now,
            request=submission.request.SerializeToString(),
            metadata=metadata.SerializeToString(),
            request_fingerprint=print_,
            idempotency_key=submitter.idempotency_key,
            locks_cluster=submission.locks_cluster and submission.cluster_id is not None,
            progress={
                "undo": {
                    "status_before": submission.status_before,
                    "created_cluster": submission.created_cluster,
                }
            },
        )
        if record.locks_cluster:
            assert submission.cluster_id is not None
            if not cluster_store.lock_for_operation(conn, submission.cluster_id, record.id):
                cluster = cluster_store.get(conn, submission.cluster_id)
                if cluster is None:
                    raise NotFound(f"cluster {submission.cluster_id} does not exist")
                if cluster.active_operation_id is None:  # released just now, under another transaction
                    raise Aborted(f"cluster {submission.cluster_id} changed while this call ran; try again")
                raise conflicting_operation(submission.cluster_id, cluster.active_operation_id)
        op_store.insert(conn, record)
        return record


def conflicting_operation(cluster_id: str, operation_id: str) -> FailedPrecondition:
    """The refusal of a change while ``operation_id`` holds the cluster, in the cloud's words,
    which Terraform matches to wait for that operation and retry (api.md §10.1 "Concurrent
    operations"). Nothing after the id may say "detected" again: Terraform's pattern is greedy."""
    return FailedPrecondition(
        f"Conflicting operation {operation_id} detected: cluster {cluster_id} is busy with it; "
        "wait until it is done and try again"
    )


def cancel_unstarted(db: Database, clock: Clock, record: OperationRecord) -> bool:
    """Finish an operation no worker has claimed yet as CANCELLED, undoing its submission.

    Returns False when a worker got to it first (it then runs to its end as usual).
    """
    error = status_pb2.Status(code=code_pb2.CANCELLED, message="operation cancelled before it started")
    with db.write() as conn:
        if not op_store.finish(conn, record, None, clock.now(), error=error.SerializeToString()):
            return False
        undo = record.progress.get("undo") or {}
        if record.cluster_id and undo.get("created_cluster"):
            cluster_store.delete(conn, record.cluster_id)
        elif record.cluster_id and undo.get("status_before"):
            cluster_store.update(conn, record.cluster_id, status=undo["status_before"])
        user_store.undo_change(conn, record.id)
    return True
