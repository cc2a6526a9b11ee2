"""A folder id that cannot exist is INVALID_ARGUMENT naming it in every list that takes one,
held to the rule Create holds ``folder_id`` to (``cluster_checks.check_cloud_id``), not
answered as an empty folder; a well-formed folder with nothing in it is still an empty page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message
from yandex.cloud.maintenance.v2 import change_freeze_pb2 as freeze_pb
from yandex.cloud.maintenance.v2 import common_pb2 as maintenance_pb
from yandex.cloud.mdb.redis.v1 import backup_retention_policy_service_pb2 as policy_pb
from yandex.cloud.mdb.redis.v1 import backup_service_pb2 as backup_pb
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cluster_pb

from managed_redis.errors import InvalidArgument, PermissionDenied
from managed_redis.operations.submit import OperationQueue
from managed_redis.services.access import Principal
from managed_redis.services.backups import BackupService
from managed_redis.services.change_freezes import ChangeFreezeService
from managed_redis.services.clusters import ClusterService
from managed_redis.services.context import Caller
from managed_redis.services.maintenance import MaintenanceService
from managed_redis.services.retention_policies import BackupRetentionPolicyService
from tests.support.fake_world import World, make_world

ADMIN = Caller(Principal("admin", admin_everywhere=True), request_id="r1")
VIEWER = Caller(Principal("viewer", {"folder1": frozenset({"managed-redis.viewer"})}), request_id="r2")
FOLDER = "resource-manager.folder"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = make_world(tmp_path)
    world.add_cluster("c1", hosts=1)
    yield world
    world.db.dispose()


Lister = Callable[[World, str, Caller], Message]


def list_clusters(world: World, folder_id: str, caller: Caller) -> Message:
    queue = OperationQueue(world.db, world.clock)
    return ClusterService(world.db, queue, world.deps).list(cluster_pb.ListClustersRequest(folder_id=folder_id), caller)


def list_backups(world: World, folder_id: str, caller: Caller) -> Message:
    service = BackupService(world.db, OperationQueue(world.db, world.clock))
    return service.list(backup_pb.ListBackupsRequest(folder_id=folder_id), caller)


def list_policies(world: World, folder_id: str, caller: Caller) -> Message:
    service = BackupRetentionPolicyService(world.db, OperationQueue(world.db, world.clock))
    return service.list_by_folder(policy_pb.ListBackupRetentionPoliciesByFolderRequest(folder_id=folder_id), caller)


def list_maintenances(world: World, folder_id: str, caller: Caller) -> Message:
    service = MaintenanceService(world.db, OperationQueue(world.db, world.clock))
    return service.list(maintenance_pb.ListMaintenancesRequest(folder_id=folder_id), caller)


def list_freezes(world: World, folder_id: str, caller: Caller) -> Message:
    service = ChangeFreezeService(world.db, OperationQueue(world.db, world.clock), world.clock)
    path: Any = [freeze_pb.Resource(id=folder_id, type=FOLDER)]
    return service.list(freeze_pb.ListChangeFreezesRequest(resource_path=path), caller)


LISTS: list[tuple[Lister, str]] = [
    (list_clusters, "folder_id"),
    (list_backups, "folder_id"),
    (list_policies, "folder_id"),
    (list_maintenances, "folder_id"),
    (list_freezes, "resource_path[0].id"),
]
IDS = ["clusters", "backups", "retention policies", "maintenances", "change freezes"]


@pytest.mark.parametrize(("lister", "field"), LISTS, ids=IDS)
@pytest.mark.parametrize("caller", [ADMIN, VIEWER], ids=["admin", "viewer of folder1"])
@pytest.mark.parametrize("folder_id", ["bad folder!", "f" * 51, "b1g/../x"])
def test_a_folder_id_that_cannot_exist_is_invalid_argument(
    world: World, lister: Lister, field: str, caller: Caller, folder_id: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        lister(world, folder_id, caller)
    assert [(v.field, v.description) for v in caught.value.violations] == [
        (field, "must be 1-50 characters of [a-zA-Z0-9_-]")
    ]


@pytest.mark.parametrize(("lister", "field"), LISTS, ids=IDS)
def test_a_well_formed_folder_lists_or_needs_rights_as_before(world: World, lister: Lister, field: str) -> None:
    assert lister(world, "b1gemptyfolder000001", ADMIN).ListFields() == []  # nothing there: an empty page
    assert lister(world, "folder1", VIEWER) is not None
    with pytest.raises(PermissionDenied):
        lister(world, "b1gemptyfolder000001", VIEWER)
