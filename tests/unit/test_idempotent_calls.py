"""A call repeated under its Idempotency-Key is answered with the operation it made, before the
service's checks (the first call set the cluster busy) and after losing a race to a twin call
(the checks failed on what the twin did); another call under the same key is refused."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from google.protobuf.message import Message
from sqlalchemy.engine import Connection
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.operation import operation_pb2

from managed_redis.api.auth import Authenticator
from managed_redis.api.dispatch import Dispatcher
from managed_redis.api.methods import Implementation, Method, build_method_table
from managed_redis.clock import SYSTEM_CLOCK
from managed_redis.errors import FailedPrecondition, InvalidArgument
from managed_redis.operations.submit import OperationQueue, Submission
from managed_redis.services.access import Principal
from managed_redis.services.context import Caller, call_fingerprint
from managed_redis.services.submitting import replayed_operation, submit_operation
from managed_redis.store.database import Database
from managed_redis.store.migrations import migrate
from tests.support.step_handler import handlers

ADMIN = {"authorization": "Bearer admin-token"}


def method(name: str, implementation: Implementation) -> Method:
    found = next(m for m in build_method_table({}) if m.name == name)
    return replace(found, implementation=implementation)


def call(dispatcher: Dispatcher, m: Method, request: Message, headers: dict[str, str]) -> str:
    """The id of the operation the call is answered with."""
    answer = asyncio.run(dispatcher.call(m, request, headers, "req-1"))
    assert isinstance(answer, operation_pb2.Operation), answer
    return answer.id


def test_a_repeated_call_is_answered_before_and_after_the_services_checks(tmp_path: Path) -> None:
    made: dict[str, operation_pb2.Operation] = {}
    ran: list[str] = []

    def replay(caller: Caller) -> operation_pb2.Operation | None:
        return made.get(caller.idempotency_key or "")

    def update(request: Message, caller: Caller) -> Message:
        ran.append(caller.idempotency_key or "")
        if caller.idempotency_key == "raced":  # its twin won meanwhile and set the cluster busy
            made["raced"] = operation_pb2.Operation(id="op-of-the-twin")
        raise FailedPrecondition("Conflicting operation op-1 detected: cluster c9q is busy with it")

    dispatcher = Dispatcher(Authenticator("admin-token", tmp_path / "tokens.json"), ThreadPoolExecutor(2), replay)
    m = method("ClusterService.Update", update)
    request = cs.UpdateClusterRequest(cluster_id="c9q", description="new")
    made["first"] = operation_pb2.Operation(id="op-1")

    assert call(dispatcher, m, request, {**ADMIN, "idempotency-key": "first"}) == "op-1"
    assert ran == []  # answered before the service's checks, which would refuse it
    assert call(dispatcher, m, request, {**ADMIN, "idempotency-key": "raced"}) == "op-of-the-twin"
    with pytest.raises(FailedPrecondition):  # no key: the check's answer stands
        call(dispatcher, m, request, ADMIN)
    assert ran == ["raced", ""]


def test_the_same_key_for_another_call_is_refused(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(db)
    queue = OperationQueue(db, SYSTEM_CLOCK)
    kind = handlers()["test.steps"]
    principal = Principal("admin", admin_everywhere=True)
    first = cs.UpdateClusterRequest(cluster_id="c9q", description="one")
    other = cs.UpdateClusterRequest(cluster_id="c9q", description="two")
    path = "/yandex.cloud.mdb.redis.v1.ClusterService/Update"

    def caller(request: Message) -> Caller:
        return Caller(principal, "req", "key-1", call_fingerprint(path, request))

    def prepare(_conn: Connection) -> Submission:
        return Submission(kind.name, "test", "f1", None, first, first)

    made = submit_operation(queue, caller(first), kind, first, prepare)
    again = replayed_operation(queue, caller(first))
    assert again is not None and again.id == made.id
    with pytest.raises(InvalidArgument, match="idempotency_key"):
        replayed_operation(queue, caller(other))
    assert replayed_operation(queue, Caller(principal, "req")) is None  # no key, nothing to replay
    db.dispose()
