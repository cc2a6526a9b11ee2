"""Admission by memory: clusters and hosts are admitted only while the machine can hold every
host's preset memory (times the overcommit ratio); a refusal is RESOURCE_EXHAUSTED naming what
is short and writes nothing. Runs the real services on a real SQLite store, no processes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import field_mask_pb2, json_format
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.mdb.redis.v1 import resource_preset_service_pb2 as preset_service_pb
from yandex.cloud.operation import operation_pb2

from managed_redis.catalog.presets import GIB
from managed_redis.errors import ResourceExhausted
from managed_redis.operations.submit import OperationQueue
from managed_redis.services.access import Principal
from managed_redis.services.capacity import machine_memory, mem_total_bytes, promised_bytes
from managed_redis.services.clusters import ClusterService
from managed_redis.services.context import Caller
from managed_redis.services.resource_presets import ResourcePresetService
from managed_redis.settings import SettingsError, load_settings
from managed_redis.statuses import BackupStatus, BackupType
from managed_redis.store import backups as backup_store
from managed_redis.store import clusters as cluster_store
from managed_redis.store.backups import BackupFile, BackupRecord
from tests.support.fake_world import World, make_world

ADMIN = Caller(Principal("admin", admin_everywhere=True), request_id="r1")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A machine of 20 GiB that promises no more than it has."""
    world = make_world(tmp_path)
    settings = dataclasses.replace(world.deps.settings, machine_memory_gib=20.0, memory_overcommit=1.0)
    world.deps = dataclasses.replace(world.deps, settings=settings)
    yield world
    world.db.dispose()


def service(world: World) -> ClusterService:
    return ClusterService(world.db, OperationQueue(world.db, world.clock), world.deps)


def create(world: World, name: str, preset: str = "hm1.nano", hosts: int = 1) -> operation_pb2.Operation:
    body = {
        "folderId": "folder1",
        "name": name,
        "environment": "PRODUCTION",
        "configSpec": {"resources": {"resourcePresetId": preset}, "redis": {"password": "Password-123"}},
        "hostSpecs": [{"zoneId": "ru-central1-a"}] * hosts,
    }
    return service(world).create(json_format.ParseDict(body, service_pb.CreateClusterRequest()), ADMIN)


def cluster_names(world: World) -> list[str]:
    with world.db.read() as conn:
        return sorted(record.name for record in cluster_store.list_all(conn))


def test_create_is_refused_when_the_machine_cannot_hold_it_and_nothing_is_written(world: World) -> None:
    world.add_cluster("c1", hosts=1)  # hm1.nano: 8 GiB promised
    with pytest.raises(ResourceExhausted) as caught:
        create(world, "big", hosts=2)
    assert str(caught.value).startswith(
        "memory: needs 16 GiB for 2 hosts of hm1.nano, 12 GiB of 20 GiB free "
        "(this machine's 20 GiB x memory_overcommit 1)"
    )
    assert cluster_names(world) == ["name-c1"]

    create(world, "small", hosts=1)
    assert cluster_names(world) == ["name-c1", "small"]
    with world.db.read() as conn:
        assert promised_bytes(conn) == 16 * GIB


def test_add_hosts_and_add_shard_are_admitted_by_memory(world: World) -> None:
    world.add_cluster("c1", hosts=2)  # 16 GiB of 20
    request = service_pb.AddClusterHostsRequest(
        cluster_id="c1", host_specs=[service_pb.HostSpec(zone_id="ru-central1-b")]
    )
    with pytest.raises(ResourceExhausted, match=r"needs 8 GiB for 1 host of hm1.nano, 4 GiB of 20 GiB free"):
        service(world).add_hosts(request, ADMIN)

    with world.db.write() as conn:
        cluster_store.update(conn, "c1", sharded=True)
    shard = service_pb.AddClusterShardRequest(
        cluster_id="c1", shard_name="s2", host_specs=[service_pb.HostSpec(zone_id="ru-central1-b", shard_name="s2")]
    )
    with pytest.raises(ResourceExhausted, match=r"needs 8 GiB for 1 host of hm1.nano, 4 GiB of 20 GiB free"):
        service(world).add_shard(shard, ADMIN)
    with world.db.read() as conn:
        assert len(cluster_store.list_hosts(conn, "c1")) == 2
        assert [s.name for s in cluster_store.list_shards(conn, "c1")] == ["shard1"]
    assert world.cluster("c1").status == "RUNNING"


def test_a_preset_change_counts_only_its_growth_and_holds_it_while_in_flight(world: World) -> None:
    world.add_cluster("c1", hosts=1)  # 8 GiB of 20
    bigger = service_pb.UpdateClusterRequest(
        cluster_id="c1",
        update_mask=field_mask_pb2.FieldMask(paths=["config_spec.resources.resource_preset_id"]),
        config_spec=service_pb.ConfigSpec(resources=cluster_pb2.Resources(resource_preset_id="hm1.large")),  # 32 GiB
    )
    with pytest.raises(ResourceExhausted, match=r"needs 24 GiB for 1 host of hm1.large \(from hm1.nano\)"):
        service(world).update(bigger, ADMIN)

    bigger.config_spec.resources.resource_preset_id = "hm1.micro"  # 12 GiB: grows by 4
    service(world).update(bigger, ADMIN)
    with world.db.read() as conn:
        assert promised_bytes(conn) == 12 * GIB  # the update in flight holds its larger preset
    with pytest.raises(ResourceExhausted, match=r"needs 16 GiB .*, 8 GiB of 20 GiB free"):
        create(world, "second", hosts=2)


def test_deleting_a_cluster_gives_its_memory_back(world: World) -> None:
    world.add_cluster("c1", hosts=2)
    with pytest.raises(ResourceExhausted):
        create(world, "next", hosts=1)
    with world.db.write() as conn:
        cluster_store.delete(conn, "c1")
    create(world, "next", hosts=1)
    assert cluster_names(world) == ["next"]


def test_overcommit_multiplies_what_the_machine_may_promise(world: World) -> None:
    settings = dataclasses.replace(world.deps.settings, memory_overcommit=2.0)
    world.deps = dataclasses.replace(world.deps, settings=settings)
    create(world, "a", hosts=3)  # 24 GiB of 40
    with pytest.raises(ResourceExhausted, match=r"needs 24 GiB for 3 hosts of hm1.nano, 16 GiB of 40 GiB free"):
        create(world, "b", hosts=3)


def test_presets_a_machine_cannot_hold_list_no_zones(world: World) -> None:
    presets = ResourcePresetService(world.deps.settings)
    listed = presets.list(preset_service_pb.ListResourcePresetsRequest(page_size=1000), ADMIN).resource_presets
    zones = {preset.id: list(preset.zone_ids) for preset in listed}
    assert zones["hm1.nano"] and zones["hm1.small"]  # 8 and 16 GiB fit in 20
    assert zones["hm1.medium"] == [] and zones["m4a-c224-m1792"] == []
    one = presets.get(preset_service_pb.GetResourcePresetRequest(resource_preset_id="hm1.medium"), ADMIN)
    assert one.memory == 24 * GIB and list(one.zone_ids) == []


def test_machine_memory_comes_from_meminfo_unless_set(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24684084 kB\nMemFree:        22000000 kB\n")
    assert mem_total_bytes(meminfo) == 24684084 * 1024
    assert mem_total_bytes(tmp_path / "absent") > 0  # not Linux: the physical pages
    default = load_settings(env={})
    assert default.machine_memory_gib is None and default.memory_overcommit == 4.0
    assert machine_memory(default).total_bytes == mem_total_bytes()
    assert machine_memory(load_settings(env={"MREDIS_MACHINE_MEMORY_GIB": "2.5"})).total_bytes == int(2.5 * GIB)


@pytest.mark.parametrize("value", ["0", "-1", "lots"])
def test_overcommit_must_be_a_positive_number(value: str) -> None:
    with pytest.raises(SettingsError, match="MREDIS_MEMORY_OVERCOMMIT"):
        load_settings(env={"MREDIS_MEMORY_OVERCOMMIT": value})


def test_restore_is_admitted_like_create(world: World) -> None:
    world.add_cluster("c1", hosts=2)  # 16 GiB of 20
    with world.db.write() as conn:
        backup_store.insert(
            conn,
            BackupRecord(
                id="c1:20261130T120000",
                folder_id="folder1",
                source_cluster_id="c1",
                type=BackupType.MANUAL,
                status=BackupStatus.DONE,
                started_at=world.clock.now(),
                created_at=world.clock.now(),
                files=[BackupFile(shard="shard1", key="", sha256="", stored_bytes=0, raw_bytes=0)],
                source={
                    "sharded": False,
                    "config_spec": {"version": "7.0", "resources": {"resourcePresetId": "hm1.nano"}},
                },
            ),
        )
    body = {
        "backupId": "c1:20261130T120000",
        "name": "restored",
        "environment": "PRODUCTION",
        "configSpec": {"redis": {"password": "Password-123"}},
        "hostSpecs": [{"zoneId": "ru-central1-a"}],
    }
    request = json_format.ParseDict(body, service_pb.RestoreClusterRequest())
    with pytest.raises(ResourceExhausted, match=r"needs 8 GiB for 1 host of hm1.nano, 4 GiB of 20 GiB free"):
        service(world).restore(request, ADMIN)
    assert cluster_names(world) == ["name-c1"]
