"""A lease whose holder died on this machine is taken at once; a live holder's lease, or one
held on another machine, is left until it expires (operations' leases and the supervisor's).
A supervisor taking the lease of a dead one ends the healing locks the dead one held."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import struct_pb2
from sqlalchemy.engine import Connection

from managed_redis.clock import SYSTEM_CLOCK
from managed_redis.lease_holders import LeaseHolder, this_process
from managed_redis.operations.submit import OperationQueue, Submission, Submitter
from managed_redis.store import clusters as cluster_store
from managed_redis.store import leases
from managed_redis.store import operations as op_store
from managed_redis.store.database import Database
from managed_redis.store.migrations import migrate
from tests.support.fake_world import make_world

KIND = "test.kind"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(database)
    yield database
    database.dispose()


def here() -> LeaseHolder:
    holder = this_process()
    assert holder is not None, "this machine's /proc does not tell processes apart"
    return holder


def dead_holder() -> LeaseHolder:
    """A process of this machine that has exited (and been reaped)."""
    child = subprocess.Popen(["sleep", "60"])
    try:
        started = int((Path("/proc") / str(child.pid) / "stat").read_text().rsplit(")", 1)[1].split()[19])
    finally:
        child.kill()
        child.wait()
    return LeaseHolder(here().machine, child.pid, started)


def test_only_a_holder_of_this_machine_that_is_gone_is_gone() -> None:
    me = here()
    assert not me.gone(me)
    assert dead_holder().gone(me)
    # Its pid now belongs to a later process: the holder is gone all the same.
    assert dataclasses.replace(me, started=me.started - 1).gone(me)
    # A dead pid on another machine, or seen from a process that cannot tell: not judged.
    assert not dataclasses.replace(dead_holder(), machine="elsewhere|boot|1").gone(me)
    assert not dead_holder().gone(None)


def claimed_by(db: Database, holder: LeaseHolder, lease_s: float = 60.0) -> op_store.OperationRecord:
    request = struct_pb2.Struct()

    def prepare(_conn: Connection) -> Submission:
        return Submission(KIND, "test", "f1", None, request, struct_pb2.Struct())

    OperationQueue(db, SYSTEM_CLOCK).submit(Submitter("tester", None), KIND, request, prepare)
    with db.write() as conn:
        record = op_store.claim_next(conn, "holder/0", SYSTEM_CLOCK.now(), lease_s, {KIND}, holder=holder)
    assert record is not None and record.lease_pid == holder.pid
    return record


def test_an_operation_held_by_a_dead_process_is_claimable_at_once(db: Database) -> None:
    record = claimed_by(db, dead_holder())
    now = SYSTEM_CLOCK.now()
    with db.write() as conn:
        assert op_store.release_gone_holders(conn, here(), now) == [(record.id, "holder/0")]
    with db.write() as conn:
        again = op_store.claim_next(conn, "me/0", now, 60.0, {KIND}, holder=here())
    assert again is not None and again.id == record.id and again.attempts == 2 and again.lease_pid == here().pid


@pytest.mark.parametrize("who", ["alive", "elsewhere"])
def test_an_operation_held_by_a_live_or_distant_process_waits_for_its_lease(db: Database, who: str) -> None:
    holder = here() if who == "alive" else dataclasses.replace(dead_holder(), machine="elsewhere|boot|1")
    claimed_by(db, holder)
    now = SYSTEM_CLOCK.now()
    with db.write() as conn:
        assert op_store.release_gone_holders(conn, here(), now) == []
        assert op_store.claim_next(conn, "me/0", now, 60.0, {KIND}, holder=here()) is None
    with db.write() as conn:  # once the lease is over, it is claimed as always
        later = now + dt.timedelta(seconds=61)
        assert op_store.claim_next(conn, "me/0", later, 60.0, {KIND}, holder=here()) is not None


def test_the_supervisor_lease_of_a_dead_process_is_taken_and_a_live_ones_is_not(db: Database) -> None:
    now = SYSTEM_CLOCK.now()
    with db.write() as conn:
        assert leases.hold(conn, "supervisor", "live", now, 60.0, here())
        assert not leases.hold(conn, "supervisor", "second", now, 60.0, here())
        leases.release(conn, "supervisor", "live")
        assert leases.hold(conn, "supervisor", "dead", now, 60.0, dead_holder())
        assert leases.hold(conn, "supervisor", "second", now, 60.0, here())
        # A holder that did not say who it is (an older control plane) keeps its lease to the end.
        assert leases.hold(conn, "other", "untold", now, 60.0, None)
        assert not leases.hold(conn, "other", "second", now, 60.0, here())
        assert leases.hold(conn, "other", "second", now + dt.timedelta(seconds=61), 60.0, here())


def test_a_supervisor_taking_a_dead_ones_lease_ends_its_healings(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    for cluster_id in ("c1", "c2"):
        world.add_cluster(cluster_id, hosts=1)
    now = world.clock.now()
    until = now + dt.timedelta(seconds=600)
    with world.db.write() as conn:
        assert leases.hold(conn, "supervisor", "dead-one", now, 3.0, dead_holder())
        assert cluster_store.lock_for_healing(conn, "c1", until, now, frozenset(), by="dead-one")
        # An earlier supervisor's, whose lease ran out: it may still be acting, its lock stays.
        assert cluster_store.lock_for_healing(conn, "c2", until, now, frozenset(), by="earlier-one")
    assert world.supervisor().run_once().held_lease
    assert world.cluster("c1").healing_until is None
    assert world.cluster("c2").healing_until == until and world.cluster("c2").healing_by == "earlier-one"
    world.db.dispose()


def test_a_supervisor_taking_an_expired_lease_leaves_the_healings(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.add_cluster("c1", hosts=1)
    now = world.clock.now()
    until = now + dt.timedelta(seconds=600)
    with world.db.write() as conn:
        assert leases.hold(conn, "supervisor", "slow-one", now, 3.0, here())  # alive, just late
        assert cluster_store.lock_for_healing(conn, "c1", until, now, frozenset(), by="slow-one")
    world.clock.advance(10)
    assert world.supervisor().run_once().held_lease
    assert world.cluster("c1").healing_until == until
    world.db.dispose()
