"""Planning and starting maintenances, and rescheduling them, over a real SQLite store on a
clock the test moves (T0 is Monday 2026-11-30 12:00 UTC); no process is started: a started
maintenance is an operation row waiting for a worker."""

from __future__ import annotations

import dataclasses
import datetime as dt
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from google.rpc import status_pb2
from yandex.cloud.maintenance.v2 import common_pb2 as maintenance_pb
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.catalog.versions import RedisVersion, discover
from managed_redis.domain.cluster_view import cluster_proto
from managed_redis.errors import FailedPrecondition, InvalidArgument, Unimplemented
from managed_redis.operations.maintenance_scheduler import MaintenanceScheduler
from managed_redis.operations.submit import OperationQueue
from managed_redis.services.access import Principal
from managed_redis.services.clusters import ClusterService
from managed_redis.services.context import Caller
from managed_redis.services.maintenance import MaintenanceService
from managed_redis.statuses import ClusterStatus
from managed_redis.store import change_freezes as freeze_store
from managed_redis.store import clusters as cluster_store
from managed_redis.store import maintenances as store
from managed_redis.store import operations as op_store
from managed_redis.store.change_freezes import ChangeFreezeRecord
from managed_redis.store.maintenances import MaintenanceRecord
from tests.support.fake_world import T0, World, make_world

ADMIN = Caller(Principal("admin", admin_everywhere=True), request_id="r1")
WED_4 = {"maintenanceWindow": {"weeklyMaintenanceWindow": {"day": "WED", "hour": "4"}}}
FIRST = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)  # Wednesday 03:00: first window past a day's notice


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = make_world(tmp_path)
    yield world
    world.db.dispose()


def add(world: World, cluster_id: str, running: str | None = "7.0.11", window: dict[str, object] | None = None) -> None:
    world.add_cluster(cluster_id)
    with world.db.write() as conn:
        record = cluster_store.get(conn, cluster_id)
        assert record is not None
        spec = {**record.spec, "cluster": window if window is not None else WED_4}
        cluster_store.update(conn, cluster_id, spec=spec, running_version=running)


def scheduler(world: World) -> MaintenanceScheduler:
    return MaintenanceScheduler(world.db, world.deps, OperationQueue(world.db, world.clock), world.clock)


def active(world: World, cluster_id: str) -> MaintenanceRecord | None:
    with world.db.read() as conn:
        return store.active_of(conn, cluster_id)


def only(world: World, cluster_id: str) -> MaintenanceRecord:
    with world.db.read() as conn:
        found = store.listed(conn, cluster_id=cluster_id)
    assert len(found) == 1, found
    return found[0]


def test_planned_for_the_first_window_past_the_notice_once(world: World) -> None:
    add(world, "c1")
    add(world, "same", running="7.0.15")
    add(world, "unrecorded", running=None)  # created before versions were recorded: runs the installed one
    tasks = scheduler(world)
    assert tasks.run_once() == []
    planned = only(world, "c1")
    assert planned.status == "SCHEDULED" and planned.description == "Update Redis 7.0.11 to 7.0.15"
    assert planned.start_scheduled_at == planned.first_scheduled_at == FIRST
    assert planned.max_start_scheduled_at == FIRST + dt.timedelta(days=14)
    assert active(world, "same") is None and active(world, "unrecorded") is None
    tasks.run_once()
    assert only(world, "c1").id == planned.id  # one per cluster

    shown = cluster_proto(world.cluster("c1"), versions=world.deps.versions, planned=planned)
    assert shown.planned_operation.info == "Update Redis 7.0.11 to 7.0.15"
    assert shown.planned_operation.delayed_until.ToDatetime(dt.UTC) == FIRST
    assert shown.config.full_version == "7.0.11"  # what runs, not what is installed


def test_the_store_keeps_one_active_maintenance_per_cluster(world: World) -> None:
    """Two schedulers planning at once (two servers on one PostgreSQL): the second insert fails."""
    add(world, "c1")
    scheduler(world).run_once()
    planned = only(world, "c1")
    with pytest.raises(sa.exc.IntegrityError), world.db.write() as conn:
        store.insert(conn, dataclasses.replace(planned, id="another"))
    with world.db.write() as conn:  # once it is done, the next may be planned
        store.update(conn, planned.id, "c1", status=store.SUCCEEDED, succeeded_at=T0)
        store.insert(conn, dataclasses.replace(planned, id="another"))
    assert active(world, "c1") == dataclasses.replace(planned, id="another")


def test_a_moved_cluster_takes_its_maintenance_along(world: World) -> None:
    add(world, "c1")
    tasks = scheduler(world)
    tasks.run_once()
    with world.db.write() as conn:
        cluster_store.update(conn, "c1", folder_id="folder2")
    tasks.run_once()
    assert only(world, "c1").folder_id == "folder2"


def test_starts_only_in_its_window_when_the_cluster_is_free(world: World) -> None:
    add(world, "c1")
    tasks = scheduler(world)
    tasks.run_once()
    world.clock.at = FIRST - dt.timedelta(minutes=1)
    assert tasks.run_once() == []
    with world.db.write() as conn:  # another operation holds the cluster
        assert cluster_store.lock_for_operation(conn, "c1", "other-op")
    world.clock.at = FIRST + dt.timedelta(minutes=5)
    assert tasks.run_once() == []
    assert only(world, "c1").status == "SCHEDULED"
    with world.db.write() as conn:
        cluster_store.update(conn, "c1", active_operation_id=None)
    started = tasks.run_once()
    assert len(started) == 1
    running = only(world, "c1")
    assert (running.status, running.operation_id, running.started_at) == ("RUNNING", started[0], world.clock.at)
    assert world.cluster("c1").status == ClusterStatus.UPDATING
    with world.db.read() as conn:
        operation = op_store.get(conn, started[0])
    assert operation is not None and operation.kind == "cluster.maintenance"
    assert operation.description == "Maintenance of Redis cluster"
    assert tasks.run_once() == []  # never twice


def test_a_due_one_outside_its_window_waits_for_the_next(world: World) -> None:
    add(world, "c1")
    tasks = scheduler(world)
    tasks.run_once()
    world.clock.at = FIRST + dt.timedelta(hours=2)  # the pass that would have started it never ran in time
    assert tasks.run_once() == []
    assert only(world, "c1").start_scheduled_at == FIRST + dt.timedelta(days=7)


def test_a_change_freeze_postpones_it_past_its_end(world: World) -> None:
    add(world, "c1")
    tasks = scheduler(world)
    tasks.run_once()
    freeze = ChangeFreezeRecord(
        "freeze1", "c1", "folder1", FIRST - dt.timedelta(hours=1), FIRST + dt.timedelta(days=3), "", "SCHEDULED",
        "admin", T0,
    )  # fmt: skip
    with world.db.write() as conn:
        freeze_store.insert(conn, freeze)
    world.clock.at = FIRST + dt.timedelta(minutes=1)
    assert tasks.run_once() == []
    moved = only(world, "c1")
    assert moved.status == "SCHEDULED" and moved.start_scheduled_at == FIRST + dt.timedelta(days=7)
    assert moved.detail("postponed_by_change_freeze") == "freeze1"
    world.clock.at = FIRST + dt.timedelta(days=7, minutes=1)
    assert len(tasks.run_once()) == 1


def test_stopped_deleted_and_already_updated_clusters(world: World) -> None:
    add(world, "stopped")
    add(world, "gone")
    add(world, "updated")
    tasks = scheduler(world)
    tasks.run_once()
    with world.db.write() as conn:
        cluster_store.update(conn, "stopped", status=ClusterStatus.STOPPED)
        cluster_store.delete(conn, "gone")
        store.set_running_version(conn, "updated", "7.0.15")  # an Update restarted its hosts meanwhile
    world.clock.at = FIRST + dt.timedelta(minutes=1)
    assert tasks.run_once() == []
    assert only(world, "gone").status == "CANCELLED"
    assert only(world, "updated").status == "CANCELLED"
    done = only(world, "stopped")
    assert done.status == "SUCCEEDED" and done.detail("applied_while_stopped")
    assert world.cluster("stopped").running_version == "7.0.15"


def test_a_failed_run_is_scheduled_again_for_the_next_window(world: World) -> None:
    add(world, "c1")
    tasks = scheduler(world)
    tasks.run_once()
    world.clock.at = FIRST + dt.timedelta(minutes=1)
    (operation_id,) = tasks.run_once()
    with world.db.write() as conn:
        operation = op_store.get(conn, operation_id)
        assert operation is not None
        error = status_pb2.Status(code=13, message="boom").SerializeToString()
        assert op_store.finish(conn, operation, None, world.clock.now(), error=error)
    tasks.run_once()
    again = only(world, "c1")
    assert again.status == "SCHEDULED" and again.operation_id is None
    assert again.start_scheduled_at == FIRST + dt.timedelta(days=7)
    assert again.detail("failed_operation") == operation_id


def cluster_service(world: World) -> ClusterService:
    return ClusterService(world.db, OperationQueue(world.db, world.clock), world.deps)


def reschedule(world: World, kind: int, delayed_until: dt.datetime | None = None) -> None:
    request = service_pb.RescheduleMaintenanceRequest(cluster_id="c1")
    request.reschedule_type = kind  # type: ignore[assignment]
    if delayed_until is not None:
        request.delayed_until.FromDatetime(delayed_until)
    cluster_service(world).reschedule_maintenance(request, ADMIN)


def test_reschedule_rules(world: World) -> None:
    add(world, "c1")
    with pytest.raises(FailedPrecondition, match="no maintenance is planned for cluster c1"):
        reschedule(world, 3, T0 + dt.timedelta(days=2))
    scheduler(world).run_once()
    with pytest.raises(InvalidArgument, match="delayed_until") as past_max:
        reschedule(world, 3, FIRST + dt.timedelta(days=14, seconds=1))
    assert "delayed_until" in str(past_max.value.message)
    with pytest.raises(InvalidArgument, match="delayed_until"):
        reschedule(world, 3)
    with pytest.raises(InvalidArgument, match="delayed_until"):
        reschedule(world, 3, T0 - dt.timedelta(hours=1))
    assert only(world, "c1").start_scheduled_at == FIRST  # refusals change nothing

    reschedule(world, 3, FIRST + dt.timedelta(days=10, hours=5))
    pinned = only(world, "c1")
    assert pinned.start_scheduled_at == FIRST + dt.timedelta(days=10, hours=5)
    assert pinned.detail("rescheduled") == "SPECIFIC_TIME"
    reschedule(world, 2)
    back = only(world, "c1")
    assert back.start_scheduled_at == FIRST and back.detail("rescheduled") is None
    reschedule(world, 1)
    started = only(world, "c1")
    assert started.status == "RUNNING" and started.started_at == T0  # outside its window: IMMEDIATE
    with pytest.raises(FailedPrecondition, match="RUNNING"):
        reschedule(world, 2)


def test_maintenance_service_list_get_reschedule(world: World) -> None:
    add(world, "c1")
    add(world, "c2")
    scheduler(world).run_once()
    service = MaintenanceService(world.db, OperationQueue(world.db, world.clock))
    listed = service.list(
        maintenance_pb.ListMaintenancesRequest(folder_id="folder1", order_by="created_at desc"), ADMIN
    )
    assert {m.resource_path[0].id for m in listed.maintenances} == {"c1", "c2"}
    first = listed.maintenances[0]
    assert [(r.type) for r in first.resource_path] == ["managed-redis.cluster", "resource-manager.folder"]
    assert first.user_controllable and first.status == maintenance_pb.Maintenance.SCHEDULED
    one = service.list(maintenance_pb.ListMaintenancesRequest(resource_id="c2", page_size=1), ADMIN)
    assert [m.resource_path[0].id for m in one.maintenances] == ["c2"] and one.next_page_token == ""
    filtered = maintenance_pb.ListMaintenancesRequest(folder_id="folder1", filter='status = "RUNNING"')
    assert list(service.list(filtered, ADMIN).maintenances) == []
    for bad, field in (({"filter": "status ~ 1"}, "filter"), ({"order_by": "id desc"}, "order_by")):
        with pytest.raises(InvalidArgument, match=field):
            service.list(maintenance_pb.ListMaintenancesRequest(folder_id="folder1", **bad), ADMIN)  # type: ignore[arg-type]
    with pytest.raises(Unimplemented):
        service.list(maintenance_pb.ListMaintenancesRequest(cloud_id="cloud1"), ADMIN)

    got = service.get(maintenance_pb.GetMaintenanceRequest(maintenance_id=first.id), ADMIN)
    assert got == first
    request = maintenance_pb.RescheduleMaintenanceRequest(
        maintenance_id=first.id, reschedule_type=maintenance_pb.RescheduleMaintenanceRequest.SPECIFIC_TIME
    )
    with pytest.raises(InvalidArgument, match="scheduled_at"):
        service.reschedule(request, ADMIN)
    request.scheduled_at.FromDatetime(FIRST + dt.timedelta(days=1))
    operation = service.reschedule(request, ADMIN)
    assert operation.description == "Reschedule maintenance of Redis cluster"
    moved = service.get(maintenance_pb.GetMaintenanceRequest(maintenance_id=first.id), ADMIN)
    assert moved.start_scheduled_at.ToDatetime(dt.UTC) == FIRST + dt.timedelta(days=1)


def test_discover_keeps_the_newest_patch_of_each_version(tmp_path: Path) -> None:
    binaries = []
    for name, patch in (("old", 1), ("newest", 99), ("middle", 50)):
        script = tmp_path / name
        script.write_text(f"#!/bin/sh\necho 'Redis server v=7.0.{patch} sha=0 malloc=libc bits=64'\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        binaries.append(str(script))
    found = {v.id: v for v in discover(binaries)}
    assert (found["7.0"].full_version, found["7.0"].binary) == ("7.0.99", binaries[1])


def test_versions_compare_as_numbers(world: World) -> None:
    add(world, "c1", running="7.0.9")
    newer = (RedisVersion("7.0", "redis", 7, 0, 10, "redis-server"),)
    tasks = scheduler(world)
    tasks.deps = dataclasses.replace(world.deps, versions=newer)
    tasks.run_once()
    assert only(world, "c1").description == "Update Redis 7.0.9 to 7.0.10"
