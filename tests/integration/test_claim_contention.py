"""On PostgreSQL, a worker claiming while another's claim is still in its transaction takes the
next operation at once instead of queueing on the row the other is taking (many replicas'
workers claim at the same moments)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from google.protobuf import struct_pb2
from sqlalchemy.engine import Connection

from managed_redis.clock import SYSTEM_CLOCK
from managed_redis.operations.submit import OperationQueue, Submission, Submitter
from managed_redis.store import operations as op_store
from managed_redis.store.database import Database
from managed_redis.store.migrations import migrate
from tests.support import postgres

pytestmark = pytest.mark.postgres

KIND = "test.kind"


@pytest.fixture
def db() -> Iterator[Database]:
    if not postgres.available():
        pytest.fail("PostgreSQL is expected on 127.0.0.1:5432 (see README: test set-up)")
    with postgres.fresh_database() as url:
        database = Database(url)
        migrate(database)
        yield database
        database.dispose()


def submit(db: Database) -> str:
    request = struct_pb2.Struct()

    def prepare(_conn: Connection) -> Submission:
        return Submission(KIND, "test", "f1", None, request, struct_pb2.Struct())

    return OperationQueue(db, SYSTEM_CLOCK).submit(Submitter("tester", None), KIND, request, prepare).id


def test_a_claim_skips_the_row_another_claim_holds(db: Database) -> None:
    first_id, second_id = submit(db), submit(db)
    with db.write() as holding:  # the first claim, its transaction still open
        first = op_store.claim_next(holding, "a/0", SYSTEM_CLOCK.now(), 30.0, {KIND})
        assert first is not None and first.id == first_id
        claimed: list[str | None] = []

        def claim() -> None:
            with db.write() as conn:
                record = op_store.claim_next(conn, "b/0", SYSTEM_CLOCK.now(), 30.0, {KIND})
            claimed.append(record.id if record else None)

        other = threading.Thread(target=claim)
        other.start()
        other.join(10)
        assert claimed == [second_id], "the second claim queued on the first's row"
