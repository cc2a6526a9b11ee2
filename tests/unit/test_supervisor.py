"""The supervisor's passes against a fake engine and a real SQLite store: what it observes is
stored, what it decides is carried out under the healing lock, one failing action never
stops the others, an operation holding the cluster keeps it away, and only one supervisor
acts per database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from managed_redis.engine.facts import HostFacts, ProcessState, Role
from managed_redis.engine.model import WatchedHost
from managed_redis.operations.action_book import ActionBook
from managed_redis.operations.decisions import Action, Do
from managed_redis.operations.supervisor import Supervisor
from managed_redis.store import clusters as cluster_store
from managed_redis.store import host_facts
from managed_redis.store import operations as op_store
from managed_redis.store import users as user_store
from managed_redis.store.operations import OperationRecord
from tests.support.fake_world import T0, World, make_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = make_world(tmp_path)
    yield world
    world.db.dispose()


def one_pass(supervisor: Supervisor) -> None:
    supervisor.run_once()
    supervisor.wait_idle()


def test_a_pass_stores_what_it_saw_and_a_healthy_cluster_is_left_alone(world: World) -> None:
    world.add_cluster("c1")
    one_pass(world.supervisor())
    with world.db.read() as conn:
        rows = host_facts.for_clusters(conn, ["c1"])
    assert sorted(rows) == ["c1-h1", "c1-h2", "c1-h3"]
    assert rows["c1-h1"].facts["redis"]["role"] == "master" and rows["c1-h1"].answered_at == T0
    assert [m for m, _ in world.engine.calls] == []


def test_a_dead_replica_is_restarted_and_the_lock_released(world: World) -> None:
    world.add_cluster("c1")
    world.engine.hosts["c1-h3"].process = ProcessState.GONE
    one_pass(world.supervisor())
    assert world.engine.called("ensure_node") == ["c1-h3"]
    assert world.engine.hosts["c1-h3"].master == world.engine.hosts["c1-h1"].address
    assert world.cluster("c1").healing_until is None


def test_one_failing_action_does_not_stop_the_others_and_backs_off(world: World) -> None:
    world.add_cluster("c1")
    world.engine.hosts["c1-h2"].process = ProcessState.GONE
    world.engine.hosts["c1-h3"].process = ProcessState.GONE
    world.engine.fail_on.add(("ensure_node", "c1-h2"))
    supervisor = world.supervisor()
    one_pass(supervisor)
    assert world.engine.called("ensure_node") == ["c1-h2", "c1-h3"]
    assert world.engine.hosts["c1-h3"].process == ProcessState.RUNNING
    world.clock.advance(0.5)  # within the first backoff (1 s): not asked again
    one_pass(supervisor)
    assert world.engine.called("ensure_node") == ["c1-h2", "c1-h3"]
    world.clock.advance(1.0)
    world.engine.fail_on.clear()
    one_pass(supervisor)
    assert world.engine.called("ensure_node") == ["c1-h2", "c1-h3", "c1-h2"]


def test_a_broken_cluster_does_not_hold_up_another(world: World) -> None:
    world.add_cluster("c1")
    world.add_cluster("c2")
    world.engine.hosts["c1-h2"].process = ProcessState.GONE
    world.engine.fail_on.add(("ensure_node", "c1-h2"))
    world.engine.hosts["c2-h2"].process = ProcessState.GONE
    one_pass(world.supervisor())
    assert world.engine.hosts["c2-h2"].process == ProcessState.RUNNING


def test_a_dead_master_is_failed_over_once_then_restarted_as_a_replica(world: World) -> None:
    world.add_cluster("c1")
    supervisor = world.supervisor()
    one_pass(supervisor)  # it saw the master answer a moment ago
    world.engine.hosts["c1-h1"].process = ProcessState.GONE
    world.clock.advance(0.5)
    one_pass(supervisor)
    assert len(world.engine.called("request_failover")) == 1
    new_master = next(
        n for n, h in world.engine.hosts.items() if h.role == Role.MASTER and h.process.value == "running"
    )
    world.clock.advance(1)
    one_pass(supervisor)
    assert world.engine.called("ensure_node") == ["c1-h1"]
    assert world.engine.hosts["c1-h1"].master == world.engine.hosts[new_master].address
    with world.db.read() as conn:
        assert cluster_store.list_shards(conn, "c1")[0].master_host == new_master
    assert len(world.engine.called("request_failover")) == 1


@pytest.mark.parametrize("sentinel_state", ["failing over", "names another master"])
def test_no_failover_is_forced_beside_one_a_sentinel_makes_itself(world: World, sentinel_state: str) -> None:
    """SENTINEL FAILOVER skips the Sentinels' election: forced while one of them fails the
    master over on its own, it would promote a second replica."""
    world.add_cluster("c1")
    supervisor = world.supervisor()
    one_pass(supervisor)
    world.engine.hosts["c1-h1"].process = ProcessState.GONE
    if sentinel_state == "failing over":
        world.engine.hosts["c1-h3"].sentinel_failing_over = True
    else:
        world.engine.hosts["c1-h3"].sentinel_names = world.engine.hosts["c1-h2"].address
    world.clock.advance(0.5)
    one_pass(supervisor)
    assert world.engine.called("request_failover") == []
    assert [h.role for h in world.engine.hosts.values()].count(Role.MASTER) == 1  # the gone one's


def _hold(world: World, cluster_id: str, kind: str, status: str = "UPDATING") -> None:
    record = OperationRecord(
        id="op1",
        kind=kind,
        description="",
        folder_id="folder1",
        cluster_id=cluster_id,
        created_by="test",
        created_at=T0,
        modified_at=T0,
        request=b"",
        metadata=b"",
        request_fingerprint="x",
    )
    with world.db.write() as conn:
        op_store.insert(conn, record)
        assert cluster_store.lock_for_operation(conn, cluster_id, "op1")
        cluster_store.update(conn, cluster_id, status=status)


def test_nothing_is_restarted_on_a_cluster_an_operation_holds(world: World) -> None:
    world.add_cluster("c1")
    _hold(world, "c1", "cluster.delete")
    world.engine.hosts["c1-h2"].process = ProcessState.GONE
    one_pass(world.supervisor())
    assert world.engine.called("ensure_node") == []


def test_operations_wait_while_the_supervisor_heals(world: World) -> None:
    world.add_cluster("c1")
    with world.db.write() as conn:
        assert cluster_store.lock_for_healing(conn, "c1", T0 + dt.timedelta(seconds=60), T0, frozenset())
    _hold(world, "c1", "cluster.delete")
    with world.db.write() as conn:
        assert op_store.claim_next(conn, "worker", T0, 30, {"cluster.delete"}) is None
        cluster_store.unlock_healing(conn, "c1", T0 + dt.timedelta(seconds=60))
        claimed = op_store.claim_next(conn, "worker", T0, 30, {"cluster.delete"})
    assert claimed is not None and claimed.id == "op1"


def test_healing_is_not_started_on_a_held_cluster_nor_twice(world: World) -> None:
    world.add_cluster("c1")
    until = T0 + dt.timedelta(seconds=60)
    with world.db.write() as conn:
        assert cluster_store.lock_for_healing(conn, "c1", until, T0, frozenset())
        assert not cluster_store.lock_for_healing(conn, "c1", until, T0, frozenset())
        cluster_store.unlock_healing(conn, "c1", until)
    _hold(world, "c1", "cluster.backup", status="RUNNING")
    with world.db.write() as conn:
        assert not cluster_store.lock_for_healing(conn, "c1", until, T0, frozenset())
        # but a backup leaves processes alone: healing may go on beside it
        assert cluster_store.lock_for_healing(conn, "c1", until, T0, frozenset({"cluster.backup"}))


def test_one_supervisor_per_database(world: World) -> None:
    world.add_cluster("c1")
    world.engine.hosts["c1-h2"].process = ProcessState.GONE
    first, second = world.supervisor(), world.supervisor()
    assert first.run_once().held_lease
    first.wait_idle()
    world.engine.hosts["c1-h2"].process = ProcessState.GONE
    assert not second.run_once().held_lease
    assert world.engine.called("ensure_node") == ["c1-h2"]
    first.stop()  # gives the lease up: the other one takes over at once
    assert second.run_once().held_lease


def test_a_supervisor_taking_over_vouches_only_for_what_it_saw_itself(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a stopped control plane saw (however recent) is unknown until the next one looks."""
    world.add_cluster("c1")
    first = world.supervisor()
    one_pass(first)
    first.stop()
    revision = world.cluster("c1").revision
    seen_while_looking: list[object] = []
    observe = world.engine.observe

    def observe_and_peek(
        hosts: Sequence[WatchedHost], timeout_s: float = 1.0, keep_connections: bool = False
    ) -> dict[str, HostFacts]:
        with world.db.read() as conn:
            seen_while_looking.extend(row.checked_at for row in host_facts.for_clusters(conn, ["c1"]).values())
        return observe(hosts, timeout_s, keep_connections)

    monkeypatch.setattr(world.engine, "observe", observe_and_peek)
    world.clock.advance(2)
    one_pass(world.supervisor())
    assert seen_while_looking == [None, None, None]
    with world.db.read() as conn:
        rows = host_facts.for_clusters(conn, ["c1"])
    assert world.cluster("c1").revision > revision
    assert {row.checked_at for row in rows.values()} == {T0 + dt.timedelta(seconds=2)}


def test_a_steady_master_is_pinged_between_its_full_looks_and_what_it_said_stands(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add_cluster("c1")
    supervisor = world.supervisor()
    one_pass(supervisor)  # a first look at everything
    asked: list[dict[str, tuple[bool, bool]]] = []  # per pass: host -> (asks its Sentinel, PING only)
    observe = world.engine.observe

    def observe_and_note(
        hosts: Sequence[WatchedHost], timeout_s: float = 1.0, keep_connections: bool = False
    ) -> dict[str, HostFacts]:
        asked.append({w.name: (w.asks_sentinel, w.ping_only) for w in hosts})
        return observe(hosts, timeout_s, keep_connections)

    monkeypatch.setattr(world.engine, "observe", observe_and_note)
    for _ in range(6):
        world.clock.advance(1)
        one_pass(supervisor)
        with world.db.read() as conn:
            row = host_facts.for_clusters(conn, ["c1"])["c1-h1"]
        # Not lost on the passes that only pinged it: its role, and what its Sentinel said.
        assert row.facts["redis"]["role"] == "master" and row.facts["sentinel"]["answered"] is True
    master_looks = [looks["c1-h1"] for looks in asked]  # the master: every pass
    assert master_looks.count((True, False)) == 2 and master_looks.count((False, True)) == 4
    replica_looks = [looks.get("c1-h2") for looks in asked]  # a replica: in full, in turn
    assert replica_looks.count((True, False)) == 2 and replica_looks.count(None) == 4

    world.engine.hosts["c1-h1"].process = ProcessState.STOPPED  # frozen: seen on the next pass
    world.clock.advance(1)
    supervisor.run_once()
    with world.db.read() as conn:
        row = host_facts.for_clusters(conn, ["c1"])["c1-h1"]
    frozen = HostFacts.from_json(row.facts).redis
    assert (frozen.process, frozen.answered) == (ProcessState.STOPPED, False)


def test_a_fence_that_failed_holds_back_the_promotion() -> None:
    book = ActionBook()
    fence = Action(Do.FENCE, "s", "h1", "why")
    promote = Action(Do.FAILOVER, "s", "h1", "why", other="h2")
    book.failed("c1", fence, T0)
    assert book.due("c1", [fence, promote], T0) == []
    assert book.due("c1", [fence, promote], T0 + dt.timedelta(seconds=2)) == [fence, promote]


def test_grace_and_cooldown() -> None:
    book = ActionBook()
    reset = Action(Do.RESET_SENTINEL, "s", "h3", "why", grace_s=10, cooldown_s=20)
    assert book.due("c1", [reset], T0) == []
    assert book.due("c1", [], T0 + dt.timedelta(seconds=5)) == []  # no longer proposed: the grace restarts
    assert book.due("c1", [reset], T0 + dt.timedelta(seconds=6)) == []
    assert book.due("c1", [reset], T0 + dt.timedelta(seconds=16)) == [reset]
    book.succeeded("c1", reset, T0 + dt.timedelta(seconds=16))
    assert book.due("c1", [reset], T0 + dt.timedelta(seconds=30)) == []
    assert book.due("c1", [reset], T0 + dt.timedelta(seconds=37)) == [reset]


def test_a_host_that_missed_a_user_change_gets_the_users_once_it_answers(world: World) -> None:
    world.add_cluster("c1")
    supervisor = world.supervisor()
    one_pass(supervisor)
    one_pass(supervisor)  # steady and quiet now
    assert world.engine.called("apply_users") == []
    with world.db.write() as conn:
        user_store.mark_pending(conn, "c1", ["c1-h2"])
    one_pass(supervisor)
    assert world.engine.called("apply_users") == ["c1-h2"]
    with world.db.read() as conn:
        assert user_store.pending_hosts(conn) == {}
    one_pass(supervisor)
    assert world.engine.called("apply_users") == ["c1-h2"]  # once
