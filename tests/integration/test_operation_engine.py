"""The operation engine on SQLite and PostgreSQL: claim, lease, checkpoint, crash and resume,
idempotency keys, and one running operation per cluster."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from google.protobuf import any_pb2, struct_pb2
from google.rpc import code_pb2, status_pb2
from sqlalchemy import Connection

from managed_redis.clock import SYSTEM_CLOCK
from managed_redis.errors import FailedPrecondition, InvalidArgument
from managed_redis.operations.context import LeaseLost, OperationContext
from managed_redis.operations.submit import OperationQueue, Submission, Submitter, cancel_unstarted
from managed_redis.operations.worker import Worker
from managed_redis.statuses import ClusterStatus
from managed_redis.store import clusters as cluster_store
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord
from managed_redis.store.database import Database
from tests.support.step_handler import KIND, MAX_ATTEMPTS, SHORT_DEADLINE_S, SHORT_KIND, handlers, steps_request

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def queue(db: Database) -> OperationQueue:
    return OperationQueue(db, SYSTEM_CLOCK)


def add_cluster(db: Database, cluster_id: str = "c9qtestcluster000001") -> str:
    with db.write() as conn:
        cluster_store.insert(
            conn,
            ClusterRecord(
                id=cluster_id,
                folder_id="f1",
                name=cluster_id,
                status=ClusterStatus.RUNNING,
                created_at=SYSTEM_CLOCK.now(),
            ),
        )
    return cluster_id


def submit(
    queue: OperationQueue, request: struct_pb2.Struct, cluster_id: str | None = None, key: str | None = None
) -> op_store.OperationRecord:
    return submit_kind(queue, KIND, request, cluster_id, key)


def load(db: Database, op_id: str) -> op_store.OperationRecord:
    with db.read() as conn:
        record = op_store.get(conn, op_id)
    assert record is not None, f"no operation {op_id}"
    return record


def cluster_of(db: Database, cluster_id: str) -> ClusterRecord:
    with db.read() as conn:
        record = cluster_store.get(conn, cluster_id)
    assert record is not None, f"no cluster {cluster_id}"
    return record


def results_of(result: struct_pb2.Struct) -> list[object]:
    """The ``results`` list of a test.steps response."""
    results = result["results"]
    assert isinstance(results, struct_pb2.ListValue), results
    return list(results)


def journal_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_claim_run_and_finish_with_response(db: Database, queue: OperationQueue, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    record = submit(queue, steps_request(3, 0, str(journal)))
    worker = Worker(db, handlers(), threads=1, lease_s=5)
    assert worker.run_one("w1") is True
    assert worker.run_one("w1") is False  # nothing left to claim
    done = load(db, record.id)
    assert done.done and done.error is None and done.lease_owner is None
    assert done.response is not None
    response = any_pb2.Any.FromString(done.response)
    assert response.type_url == "type.googleapis.com/google.protobuf.Struct"
    result = struct_pb2.Struct()
    response.Unpack(result)
    assert results_of(result) == [0, 10, 20]
    assert done.progress["steps"] == {"step 0": 0, "step 1": 10, "step 2": 20}
    assert journal_lines(journal) == [
        "start 0 attempt 1",
        "end 0",
        "start 1 attempt 1",
        "end 1",
        "start 2 attempt 1",
        "end 2",
    ]


def test_failure_is_stored_as_a_status(db: Database, queue: OperationQueue, tmp_path: Path) -> None:
    record = submit(queue, steps_request(3, 0, str(tmp_path / "j"), fail_at=1))
    Worker(db, handlers(), threads=1).run_one("w1")
    done = load(db, record.id)
    status = status_pb2.Status.FromString(done.error)
    assert done.done and done.response is None
    assert status.code == code_pb2.FAILED_PRECONDITION and status.message == "step 1 was told to fail"


def test_a_live_lease_is_not_claimed_and_an_expired_one_is(db: Database, queue: OperationQueue, tmp_path: Path) -> None:
    record = submit(queue, steps_request(1, 0, str(tmp_path / "j")))
    now = SYSTEM_CLOCK.now()
    with db.write() as conn:
        first = op_store.claim_next(conn, "a", now, 1.0, {KIND})
    assert first is not None and first.attempts == 1
    with db.write() as conn:
        assert op_store.claim_next(conn, "b", now + dt.timedelta(seconds=0.5), 1.0, {KIND}) is None
    with db.write() as conn:
        second = op_store.claim_next(conn, "b", now + dt.timedelta(seconds=2), 1.0, {KIND})
    assert second is not None and second.id == record.id and second.attempts == 2 and second.lease_owner == "b"
    # The old owner can neither checkpoint nor renew any more.
    ctx = OperationContext(db, first, "a", struct_pb2.Struct(), None, SYSTEM_CLOCK)
    with pytest.raises(LeaseLost):
        ctx.checkpoint()
    with db.write() as conn:
        assert not op_store.renew_lease(conn, record.id, "a", SYSTEM_CLOCK.now(), 1.0)


def test_worker_killed_mid_operation_resumes_from_checkpoint(
    database_url: str, db: Database, queue: OperationQueue, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    record = submit(queue, steps_request(3, 1.5, str(journal)))
    lease_s = "1.0"
    command = [sys.executable, "-m", "tests.support.worker_process", database_url, lease_s]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while "start 1 attempt 1" not in journal_lines(journal):
            assert time.monotonic() < deadline, "the first worker never reached step 1"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert not load(db, record.id).done

    second = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not load(db, record.id).done:
            assert time.monotonic() < deadline, "the second worker never finished the operation"
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)

    lines = journal_lines(journal)
    # Step 0 finished before the kill and was not run again; step 1 was cut short and re-run.
    assert lines.count("end 0") == 1 and lines.count("start 0 attempt 1") == 1
    assert "start 1 attempt 2" in lines and lines.count("end 1") == 1
    assert lines.count("start 2 attempt 2") == 1 and lines.count("end 2") == 1
    done = load(db, record.id)
    assert done.error is None and done.attempts == 2
    result = struct_pb2.Struct()
    assert done.response is not None
    any_pb2.Any.FromString(done.response).Unpack(result)
    assert result["attempts"] == 2 and results_of(result) == [0, 10, 20]


def test_idempotency_key_returns_the_first_operation(db: Database, queue: OperationQueue, tmp_path: Path) -> None:
    request = steps_request(1, 0, str(tmp_path / "j"))
    first = submit(queue, request, key="key-1")
    again = submit(queue, request, key="key-1")
    assert again.id == first.id
    other = submit(queue, request, key="key-2")
    assert other.id != first.id
    with pytest.raises(InvalidArgument, match="idempotency_key"):
        submit(queue, steps_request(2, 0, str(tmp_path / "j")), key="key-1")


def test_one_running_operation_per_cluster(db: Database, queue: OperationQueue, tmp_path: Path) -> None:
    cluster_id = add_cluster(db)
    request = steps_request(1, 0, str(tmp_path / "j"))
    first = submit(queue, request, cluster_id=cluster_id)
    with pytest.raises(FailedPrecondition) as refused:
        submit(queue, request, cluster_id=cluster_id)
    # Terraform's pattern (pkg/retry/retry.go) must find the blocking operation's id.
    conflict = re.search(r"Conflicting operation (.+) detected", refused.value.message)
    assert conflict is not None and conflict.group(1) == first.id
    assert cluster_of(db, cluster_id).active_operation_id == first.id
    Worker(db, handlers(), threads=1).run_one("w1")
    assert cluster_of(db, cluster_id).active_operation_id is None
    second = submit(queue, request, cluster_id=cluster_id)
    assert second.id != first.id


def test_cancel_before_start_releases_the_cluster(db: Database, queue: OperationQueue, tmp_path: Path) -> None:
    cluster_id = add_cluster(db)
    record = submit(queue, steps_request(1, 0, str(tmp_path / "j")), cluster_id=cluster_id)
    with db.write() as conn:
        cluster_store.update(conn, cluster_id, status="UPDATING")
    assert cancel_unstarted(db, SYSTEM_CLOCK, load(db, record.id))
    done = load(db, record.id)
    assert done.done and status_pb2.Status.FromString(done.error).code == code_pb2.CANCELLED
    cluster = cluster_of(db, cluster_id)
    assert cluster.active_operation_id is None and cluster.status == "RUNNING"
    # A worker finds nothing to run, and a started operation cannot be cancelled.
    assert Worker(db, handlers(), threads=1).run_one("w1") is False
    started = submit(queue, steps_request(1, 0, str(tmp_path / "j")), cluster_id=cluster_id)
    with db.write() as conn:
        op_store.claim_next(conn, "w", SYSTEM_CLOCK.now(), 30, {KIND})
    assert not cancel_unstarted(db, SYSTEM_CLOCK, load(db, started.id))
    assert not load(db, started.id).done


def submit_kind(
    queue: OperationQueue, kind: str, request: struct_pb2.Struct, cluster_id: str | None, key: str | None = None
) -> op_store.OperationRecord:
    def prepare(conn: Connection) -> Submission:
        return Submission(
            kind=kind,
            description="test steps",
            folder_id="f1",
            cluster_id=cluster_id,
            request=request,
            metadata=struct_pb2.Struct(),
            status_before="RUNNING",
        )

    return queue.submit(Submitter("tester", key), kind, request, prepare)


def worker_command(database_url: str) -> list[str]:
    return [sys.executable, "-m", "tests.support.worker_process", database_url, "1.0"]


def worker_env(failpoints: str = "") -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "MREDIS_FAILPOINTS": failpoints}


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def assert_given_up(db: Database, op_id: str, cluster_id: str, code: int, words: str) -> None:
    """The operation failed naming its limit, and its cluster is free and left where a user can
    act: ERROR here, since the test cluster has no host that serves."""
    done = load(db, op_id)
    status = status_pb2.Status.FromString(done.error)
    assert done.done and status.code == code and words in status.message, status
    cluster = cluster_of(db, cluster_id)
    assert cluster.active_operation_id is None and cluster.status == "ERROR"


def test_a_worker_killed_every_attempt_gives_up_at_the_attempt_cap(
    database_url: str, db: Database, queue: OperationQueue, tmp_path: Path
) -> None:
    cluster_id = add_cluster(db)
    journal = tmp_path / "journal"
    record = submit_kind(queue, KIND, steps_request(3, 0, str(journal)), cluster_id)
    # Each worker dies (SIGKILL, as a crash) on reaching step 1; the next claims it again.
    for _ in range(MAX_ATTEMPTS):
        worker = subprocess.Popen(
            worker_command(database_url), cwd=REPO, env=worker_env("test.steps.1=kill"), stderr=subprocess.DEVNULL
        )
        try:
            assert worker.wait(60) == -signal.SIGKILL
        finally:
            stop_worker(worker)
    assert not load(db, record.id).done
    # The next claim is past the cap: the operation fails instead of running (and killing) again.
    last = subprocess.Popen(
        worker_command(database_url), cwd=REPO, env=worker_env("test.steps.1=kill"), stderr=subprocess.DEVNULL
    )
    try:
        wait_done(db, record.id)
    finally:
        stop_worker(last)
    assert last.returncode != -signal.SIGKILL
    assert_given_up(db, record.id, cluster_id, code_pb2.ABORTED, f"gave up after {MAX_ATTEMPTS} attempts")
    lines = journal_lines(journal)
    assert [line for line in lines if line.startswith("start 1")] == [
        f"start 1 attempt {n}" for n in range(1, MAX_ATTEMPTS + 1)
    ]
    assert "end 1" not in lines and lines.count("end 0") == 1
    # The cluster takes new operations again.
    assert submit_kind(queue, KIND, steps_request(1, 0, str(journal)), cluster_id).id != record.id


def test_an_operation_past_its_deadline_stops_at_its_next_checkpoint(
    db: Database, queue: OperationQueue, tmp_path: Path
) -> None:
    cluster_id = add_cluster(db)
    journal = tmp_path / "journal"
    steps = 20
    record = submit_kind(queue, SHORT_KIND, steps_request(steps, SHORT_DEADLINE_S / 4, str(journal)), cluster_id)
    assert Worker(db, handlers(), threads=1, lease_s=5).run_one("w1")
    assert_given_up(db, record.id, cluster_id, code_pb2.DEADLINE_EXCEEDED, f"deadline of {SHORT_DEADLINE_S:g} s")
    assert journal_lines(journal).count(f"end {steps - 1}") == 0


def test_a_hung_operation_is_failed_by_another_worker_past_its_deadline(
    database_url: str, db: Database, queue: OperationQueue, tmp_path: Path
) -> None:
    cluster_id = add_cluster(db)
    journal = tmp_path / "journal"
    # The first worker hangs in step 1 for good; its heartbeat renews the lease until the deadline.
    hung = subprocess.Popen(
        worker_command(database_url),
        cwd=REPO,
        env=worker_env("test.steps.1=hang"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        # Submitted once the worker is up, so that the deadline counts from its claim on.
        assert hung.stdout is not None and "running" in hung.stdout.readline()
        record = submit_kind(queue, SHORT_KIND, steps_request(3, 0, str(journal)), cluster_id)
        wait_until_line(journal, "start 1 attempt 1")
        other = subprocess.Popen(worker_command(database_url), cwd=REPO, env=worker_env(), stderr=subprocess.DEVNULL)
        try:
            wait_done(db, record.id)
        finally:
            stop_worker(other)
    finally:
        hung.kill()
        hung.wait(10)
    assert_given_up(db, record.id, cluster_id, code_pb2.DEADLINE_EXCEEDED, f"deadline of {SHORT_DEADLINE_S:g} s")
    assert "end 1" not in journal_lines(journal)


def wait_done(db: Database, op_id: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not load(db, op_id).done:
        assert time.monotonic() < deadline, f"operation {op_id} not done in {timeout_s} s"
        time.sleep(0.1)


def wait_until_line(journal: Path, line: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while line not in journal_lines(journal):
        assert time.monotonic() < deadline, f"{line!r} never written"
        time.sleep(0.05)
