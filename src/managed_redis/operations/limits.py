"""Bounds on every operation: an attempt cap and a deadline, and what giving up leaves behind.

An attempt is one claim of the operation by a worker (``operations.attempts``). A worker
that dies, or loses its lease, mid-operation leaves it to be claimed again; past
``max_attempts`` claims the operation is failed instead of run again (ABORTED, naming the
cap), so an operation that kills its worker every time cannot hold its cluster forever.
The deadline counts from the operation's creation, as the user sees it; past it the
operation fails (DEADLINE_EXCEEDED, naming the deadline), whether a worker claims it then,
reaches a checkpoint then, or hangs (its lease is no longer renewed, so another worker
claims and fails it).

Failing for a limit runs the kind's failure hook like any failure; if that hook itself
keeps killing workers (``CLEANUP_ATTEMPTS`` more claims), the operation is finished
without it. A cluster whose operation gave up without a hook of its own is left where a
user can act: as it was if it was STOPPED or in ERROR; RUNNING if a look at its hosts (now,
else the last stored one) shows it serving (health ALIVE or DEGRADED: clients get answers,
and the supervisor heals RUNNING clusters); else ERROR (Delete is allowed then).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.errors import Aborted, ApiError, DeadlineExceeded
from managed_redis.statuses import ClusterStatus
from managed_redis.store.operations import OperationRecord

# Claims of a failure hook that keeps dying, after which the operation is finished without it.
CLEANUP_ATTEMPTS = 2
DEFAULT_MAX_ATTEMPTS = 5
ClusterHealth = cluster_pb2.Cluster.Health


@dataclass(frozen=True)
class Limits:
    """At most ``max_attempts`` claims, and done within ``deadline_s`` of creation."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    deadline_s: float = 3600.0

    def deadline_of(self, record: OperationRecord) -> dt.datetime:
        return record.created_at + dt.timedelta(seconds=self.deadline_s)

    def exceeded(self, record: OperationRecord, now: dt.datetime) -> ApiError | None:
        """The error to fail ``record`` (just claimed: ``attempts`` counts this claim) with,
        or None while it is within its limits."""
        if record.attempts > self.max_attempts:
            return Aborted(
                f"operation {record.id} ({record.kind}) gave up after {self.max_attempts} attempts, its attempt "
                "cap: the worker running it stopped (died or lost its lease) every time; the server log says why"
            )
        if now >= self.deadline_of(record):
            return deadline_error(record, self.deadline_s)
        return None

    def cleanup_abandoned(self, record: OperationRecord) -> bool:
        """True when even failing the operation kept killing workers: finish it bare."""
        return record.attempts > self.max_attempts + CLEANUP_ATTEMPTS


def deadline_error(record: OperationRecord, deadline_s: float) -> DeadlineExceeded:
    return DeadlineExceeded(
        f"operation {record.id} ({record.kind}) passed its deadline of {deadline_s:g} s after it was created "
        "and was stopped there"
    )


def status_after_giving_up(status_before: str | None, health: ClusterHealth.ValueType) -> ClusterStatus:
    """The cluster status to leave once an operation gave up (``health``: from stored facts)."""
    if status_before in (ClusterStatus.STOPPED, ClusterStatus.ERROR):
        return ClusterStatus(status_before)
    if health in (ClusterHealth.ALIVE, ClusterHealth.DEGRADED):
        return ClusterStatus.RUNNING
    return ClusterStatus.ERROR
