"""The store reads of ``GET /metrics`` on SQLite and PostgreSQL: every cluster's revision in
one row, the hosts whose last look is old or unconfirmed, the operations finished since a
time but those already counted, and the marks of what the page shows (one row)."""

from __future__ import annotations

import datetime as dt

from managed_redis.statuses import ClusterStatus, HostState
from managed_redis.store import access, host_facts, metrics_reads
from managed_redis.store import clusters as cluster_store
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord, HostRecord
from managed_redis.store.database import Database
from managed_redis.store.host_facts import Sighting
from managed_redis.store.metrics_reads import PageMarks
from managed_redis.store.operations import OperationRecord

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def _cluster(db: Database, cluster_id: str, hosts: list[str]) -> None:
    with db.write() as conn:
        cluster_store.insert(conn, ClusterRecord(cluster_id, "b1gfolder", cluster_id, ClusterStatus.RUNNING, NOW))
        for host in hosts:
            cluster_store.insert_host(conn, HostRecord(host, cluster_id, "s1", "zone-a", host, HostState.ACTIVE, NOW))


def test_every_cluster_s_revision_in_one_read(db: Database) -> None:
    with db.read() as conn:
        assert metrics_reads.cluster_revisions(conn) == {}
    _cluster(db, "c9qb", ["10.0.0.1"])
    _cluster(db, "c9qa", ["10.0.0.2", "10.0.0.3"])
    with db.write() as conn:
        cluster_store.bump(conn, ["c9qb"])
    with db.read() as conn:
        revisions = metrics_reads.cluster_revisions(conn)
    # Each host insert bumps its cluster's revision; c9qb once more.
    assert revisions == {"c9qa": 2, "c9qb": 2}
    assert list(revisions) == ["c9qa", "c9qb"]


def test_hosts_whose_look_is_old_or_unconfirmed(db: Database) -> None:
    _cluster(db, "c9qa", ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
    with db.write() as conn:
        facts = {"redis": {"process": "running", "answered": True}, "sentinel": None}
        host_facts.record(conn, [Sighting(h, "c9qa", True, facts) for h in ("10.0.0.1", "10.0.0.2")], NOW)
        host_facts.record(conn, [Sighting("10.0.0.1", "c9qa", True, None)], NOW + dt.timedelta(seconds=20))
    with db.read() as conn:
        # 10.0.0.3 was never looked at: no row, so it is nobody's business here (its view has no facts).
        assert metrics_reads.hosts_looked_at_before(conn, NOW - dt.timedelta(seconds=1)) == set()
        assert metrics_reads.hosts_looked_at_before(conn, NOW) == {"10.0.0.2"}
        assert metrics_reads.hosts_looked_at_before(conn, NOW + dt.timedelta(seconds=20)) == {"10.0.0.1", "10.0.0.2"}
    with db.write() as conn:
        host_facts.unverify(conn)
    with db.read() as conn:
        assert metrics_reads.hosts_looked_at_before(conn, NOW - dt.timedelta(days=1)) == {"10.0.0.1", "10.0.0.2"}


def test_finished_operations_since_a_time_but_those_counted(db: Database) -> None:
    with db.write() as conn:
        for n, seconds in enumerate((0, 30, 60)):
            created = NOW - dt.timedelta(minutes=5)
            record = OperationRecord(
                f"op{n}", "cluster.create", "", "b1gfolder", None, "admin", created, created, b"", b"", ""
            )
            op_store.insert(conn, record)
            op_store.finish(conn, record, None, NOW + dt.timedelta(seconds=seconds), response=b"")
    with db.read() as conn:
        assert [op.id for op in metrics_reads.finished_since(conn, None)] == ["op0", "op1", "op2"]
        assert [op.id for op in metrics_reads.finished_since(conn, NOW + dt.timedelta(seconds=30))] == ["op1", "op2"]
        assert [op.id for op in metrics_reads.finished_since(conn, NOW, skip={"op0", "op2"})] == ["op1"]
        assert metrics_reads.finished_since(conn, NOW, skip={"op0", "op1", "op2"}) == []


def test_page_marks_move_with_what_the_page_shows(db: Database) -> None:
    _cluster(db, "c9qa", ["10.0.0.1", "10.0.0.2"])
    facts = {"redis": {"process": "running", "answered": True}, "sentinel": None}
    with db.write() as conn:
        host_facts.record(conn, [Sighting(h, "c9qa", True, facts) for h in ("10.0.0.1", "10.0.0.2")], NOW)

    def marks(subject: str | None = None, stale_before: dt.datetime = NOW - dt.timedelta(seconds=1)) -> PageMarks:
        with db.read() as conn:
            return metrics_reads.page_marks(conn, stale_before, subject)

    first = marks()
    revision = metrics_reads.parse_revisions(first.revisions)["c9qa"]
    assert first.stale_hosts == frozenset() and first.bindings is None and first.bound() == {}
    assert (first.operations, first.done) == (0, 0)
    assert marks() == first
    # Time passes: both looks are old.
    assert marks(stale_before=NOW).stale_hosts == {"10.0.0.1", "10.0.0.2"}
    # A revision, an operation submitted then finished: each moves the marks.
    with db.write() as conn:
        cluster_store.bump(conn, ["c9qa"])
    bumped = marks()
    assert metrics_reads.parse_revisions(bumped.revisions) == {"c9qa": revision + 1}
    record = OperationRecord("op1", "cluster.update", "", "b1gfolder", "c9qa", "admin", NOW, NOW, b"", b"", "")
    with db.write() as conn:
        op_store.insert(conn, record)
    submitted = marks()
    assert (submitted.operations, submitted.done) == (1, 0)
    with db.write() as conn:
        op_store.finish(conn, record, None, NOW + dt.timedelta(seconds=3), response=b"")
    assert (marks().operations, marks().done) == (1, 1)
    # A subject's bindings, read only for that subject.
    with db.write() as conn:
        access.add(conn, "c9qa", access.Binding("viewer", "managed-redis.viewer"))
        access.add(conn, "c9qa", access.Binding("viewer", "managed-redis.editor"))
    assert marks("viewer").bound() == {"c9qa": frozenset({"managed-redis.viewer", "managed-redis.editor"})}
    assert marks("someone-else").bound() == {} and marks().bindings is None
