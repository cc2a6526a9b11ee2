"""ChangeFreezeService over a real store on a clock the test moves: the status shown follows
that clock, ``covering`` (what the maintenance scheduler asks) sees a freeze only while it
holds, two freezes submitted together cannot both take the same time, and a deleted
cluster's freezes are gone from every read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import timestamp_pb2
from google.rpc import code_pb2
from yandex.cloud.maintenance.v2 import change_freeze_pb2 as cf
from yandex.cloud.operation.operation_pb2 import Operation
from yandex.cloud.operation.operation_service_pb2 import GetOperationRequest

from managed_redis.errors import NotFound
from managed_redis.operations import registry
from managed_redis.operations.submit import OperationQueue
from managed_redis.operations.worker import Worker
from managed_redis.services.access import Principal
from managed_redis.services.change_freezes import ChangeFreezeService
from managed_redis.services.context import Caller
from managed_redis.services.operations import OperationService
from managed_redis.store import change_freezes as freeze_store
from managed_redis.store import clusters as cluster_store
from tests.support.fake_world import World, make_world

ADMIN = Caller(Principal("admin", admin_everywhere=True), request_id="r1")
HOUR_S = 3600
FOLDER = [cf.Resource(id="folder1", type="resource-manager.folder")]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = make_world(tmp_path)
    world.add_cluster("c1", hosts=1)
    yield world
    world.db.dispose()


def service(world: World) -> ChangeFreezeService:
    return ChangeFreezeService(world.db, OperationQueue(world.db, world.clock), world.clock)


def run_all(world: World) -> None:
    worker = Worker(world.db, {k.name: k for k in registry.KINDS}, world.deps, clock=world.clock)
    while worker.run_one("test"):
        pass


def finished(world: World, operation: Operation) -> Operation:
    run_all(world)
    done = OperationService(world.db, world.clock).get(GetOperationRequest(operation_id=operation.id), ADMIN)
    assert done.done
    return done


def request(world: World, start_h: float, end_h: float) -> cf.CreateChangeFreezeRequest:
    start, end = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
    start.FromDatetime(world.clock.now() + dt.timedelta(hours=start_h))
    end.FromDatetime(world.clock.now() + dt.timedelta(hours=end_h))
    return cf.CreateChangeFreezeRequest(resource_id="c1", start_at=start, end_at=end)


def created(world: World, start_h: float, end_h: float) -> cf.ChangeFreeze:
    done = finished(world, service(world).create(request(world, start_h, end_h), ADMIN))
    freeze = cf.ChangeFreeze()
    assert done.response.Unpack(freeze), done
    return freeze


def test_the_status_shown_follows_the_clock(world: World) -> None:
    freezes = service(world)
    freeze = created(world, 1, 3)
    get = cf.GetChangeFreezeRequest(change_freeze_id=freeze.id)
    active_only = cf.ListChangeFreezesRequest(resource_path=FOLDER, filter='status="ACTIVE"')
    steps = [(0, cf.ChangeFreeze.SCHEDULED), (1, cf.ChangeFreeze.ACTIVE), (2, cf.ChangeFreeze.COMPLETED)]
    for hours, status in steps:  # hours to move on, then the status there
        world.clock.advance(hours * HOUR_S)
        assert freezes.get(get, ADMIN).status == status
        listed = freezes.list(active_only, ADMIN).change_freezes
        assert [f.id for f in listed] == ([freeze.id] if status == cf.ChangeFreeze.ACTIVE else [])
        with world.db.read() as conn:
            covering = freeze_store.covering(conn, "c1", world.clock.now())
        assert (covering.id if covering else None) == (freeze.id if status == cf.ChangeFreeze.ACTIVE else None)


def test_terminating_an_active_freeze_ends_its_cover_and_refunds_the_rest(world: World) -> None:
    freezes = service(world)
    freeze = created(world, 0, 4)
    world.clock.advance(HOUR_S)
    done = finished(world, freezes.terminate(cf.TerminateChangeFreezeRequest(change_freeze_id=freeze.id), ADMIN))
    response = cf.TerminateChangeFreezeResponse()
    assert done.response.Unpack(response)
    assert (response.used_seconds, response.returned_seconds) == (HOUR_S, 3 * HOUR_S)
    assert response.change_freeze.status == cf.ChangeFreeze.COMPLETED and response.change_freeze.updated_by == "admin"
    with world.db.read() as conn:
        assert freeze_store.covering(conn, "c1", world.clock.now()) is None
    limits = freezes.get_limits(cf.GetChangeFreezeLimitsRequest(resource_id="c1"), ADMIN)
    assert limits.used_seconds_this_year == HOUR_S


def test_two_freezes_submitted_together_cannot_both_take_the_time(world: World) -> None:
    freezes = service(world)
    first = freezes.create(request(world, 1, 3), ADMIN)
    second = freezes.create(request(world, 2, 4), ADMIN)  # checked before the first was written
    assert finished(world, first).HasField("response")
    lost = finished(world, second)
    assert lost.error.code == code_pb2.FAILED_PRECONDITION and "OVERLAPPING_CHANGE_FREEZE" in lost.error.message
    assert len(freezes.list(cf.ListChangeFreezesRequest(resource_path=FOLDER), ADMIN).change_freezes) == 1


def test_a_deleted_clusters_freezes_are_gone(world: World) -> None:
    freezes = service(world)
    freeze = created(world, 1, 3)
    with world.db.write() as conn:
        cluster_store.delete(conn, "c1")
    with pytest.raises(NotFound):
        freezes.get(cf.GetChangeFreezeRequest(change_freeze_id=freeze.id), ADMIN)
    assert freezes.list(cf.ListChangeFreezesRequest(resource_path=FOLDER), ADMIN).change_freezes == []
