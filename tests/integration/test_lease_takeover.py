"""A worker process SIGKILLed mid-operation: another worker of the same machine resumes it
while the dead one's lease still runs, instead of waiting it out. A worker that is alive but
frozen (SIGSTOP) keeps its operation until its lease expires: a live holder is never robbed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from google.protobuf import struct_pb2
from sqlalchemy.engine import Connection

from managed_redis.clock import SYSTEM_CLOCK
from managed_redis.operations.submit import OperationQueue, Submission, Submitter
from managed_redis.store import operations as op_store
from managed_redis.store.database import Database
from tests.support.step_handler import KIND, steps_request

REPO = Path(__file__).resolve().parents[2]


def submit(db: Database, journal: Path, steps: int, sleep_s: float) -> str:
    request = steps_request(steps, sleep_s, str(journal))

    def prepare(_conn: Connection) -> Submission:
        return Submission(KIND, "test steps", "f1", None, request, struct_pb2.Struct())

    return OperationQueue(db, SYSTEM_CLOCK).submit(Submitter("tester", None), KIND, request, prepare).id


def start_worker(database_url: str, lease_s: float) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.support.worker_process", database_url, str(lease_s)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(20)


def load(db: Database, op_id: str) -> op_store.OperationRecord:
    with db.read() as conn:
        record = op_store.get(conn, op_id)
    assert record is not None
    return record


def wait_for_line(journal: Path, line: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not (journal.exists() and line in journal.read_text().splitlines()):
        assert time.monotonic() < deadline, f"no {line!r} in the journal"
        time.sleep(0.05)


def test_a_dead_workers_operation_resumes_before_its_lease_ends(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    op_id = submit(db, journal, steps=3, sleep_s=1.0)
    first = start_worker(database_url, lease_s=60)
    try:
        wait_for_line(journal, "start 1 attempt 1")
        first_lease_ends = load(db, op_id).lease_expires_at
        assert first_lease_ends is not None
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        end(first)
    second = start_worker(database_url, lease_s=60)
    try:
        deadline = time.monotonic() + 45
        while not load(db, op_id).done:
            assert time.monotonic() < deadline, "the second worker never finished the operation"
            time.sleep(0.1)
    finally:
        end(second)
    done = load(db, op_id)
    assert done.error is None and done.attempts == 2
    assert SYSTEM_CLOCK.now() < first_lease_ends, "the operation waited for the dead worker's lease"
    lines = journal.read_text().splitlines()
    assert lines.count("end 0") == 1 and "start 1 attempt 2" in lines and lines.count("end 2") == 1


def test_a_frozen_workers_operation_waits_for_its_lease(database_url: str, db: Database, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    op_id = submit(db, journal, steps=2, sleep_s=1.0)
    frozen = start_worker(database_url, lease_s=6)
    other = None
    try:
        wait_for_line(journal, "start 0 attempt 1")
        frozen.send_signal(signal.SIGSTOP)  # alive, holding its lease, renewing it no more
        lease_ends = load(db, op_id).lease_expires_at
        assert lease_ends is not None
        other = start_worker(database_url, lease_s=6)
        while SYSTEM_CLOCK.now() < lease_ends:
            held = load(db, op_id)
            assert held.attempts == 1 and not held.done, "a live worker's lease was taken"
            time.sleep(0.2)
        deadline = time.monotonic() + 45
        while not load(db, op_id).done:  # once its lease is over, the other worker takes it
            assert time.monotonic() < deadline, "the operation was not resumed after the lease"
            time.sleep(0.1)
        assert load(db, op_id).attempts == 2
    finally:
        end(frozen)
        if other is not None:
            end(other)
