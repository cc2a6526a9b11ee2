"""Attempt caps and deadlines of operations: when an operation is past them, what error names
the limit, and the status its cluster is left in."""

from __future__ import annotations

import datetime as dt

import pytest
from google.rpc import code_pb2
from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.operations.limits import CLEANUP_ATTEMPTS, Limits, status_after_giving_up
from managed_redis.operations.registry import KINDS, by_name
from managed_redis.store.operations import OperationRecord

CREATED = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
Health = cluster_pb2.Cluster.Health


def record(attempts: int) -> OperationRecord:
    return OperationRecord(
        id="op1",
        kind="cluster.update",
        description="",
        folder_id="f",
        cluster_id="c",
        created_by="u",
        created_at=CREATED,
        modified_at=CREATED,
        request=b"",
        metadata=b"",
        request_fingerprint="",
        attempts=attempts,
    )


def test_within_limits_nothing_is_exceeded() -> None:
    limits = Limits(max_attempts=3, deadline_s=60)
    assert limits.exceeded(record(3), CREATED + dt.timedelta(seconds=59)) is None


def test_past_the_attempt_cap_the_error_names_it() -> None:
    error = Limits(max_attempts=3, deadline_s=60).exceeded(record(4), CREATED)
    assert error is not None and error.code == code_pb2.ABORTED
    assert "3 attempts" in error.message and "attempt cap" in error.message and "op1" in error.message


def test_past_the_deadline_the_error_names_it() -> None:
    error = Limits(max_attempts=3, deadline_s=60).exceeded(record(1), CREATED + dt.timedelta(seconds=60))
    assert error is not None and error.code == code_pb2.DEADLINE_EXCEEDED
    assert "deadline of 60 s" in error.message


def test_a_failure_hook_that_keeps_dying_is_abandoned() -> None:
    limits = Limits(max_attempts=3)
    assert not limits.cleanup_abandoned(record(3 + CLEANUP_ATTEMPTS))
    assert limits.cleanup_abandoned(record(4 + CLEANUP_ATTEMPTS))


@pytest.mark.parametrize(
    ("before", "health", "after"),
    [
        ("RUNNING", Health.ALIVE, "RUNNING"),
        ("RUNNING", Health.DEGRADED, "RUNNING"),
        ("RUNNING", Health.DEAD, "ERROR"),
        ("RUNNING", Health.HEALTH_UNKNOWN, "ERROR"),
        (None, Health.ALIVE, "RUNNING"),
        ("STOPPED", Health.HEALTH_UNKNOWN, "STOPPED"),
        ("ERROR", Health.ALIVE, "ERROR"),
    ],
)
def test_the_cluster_is_left_where_a_user_can_act(
    before: str | None, health: cluster_pb2.Cluster.Health.ValueType, after: str
) -> None:
    assert status_after_giving_up(before, health) == after


def test_every_kind_has_an_attempt_cap_and_a_deadline() -> None:
    kinds = by_name()
    assert set(kinds) == {kind.name for kind in KINDS}
    for kind in kinds.values():
        assert kind.limits.max_attempts >= 2 and kind.limits.deadline_s > 0
