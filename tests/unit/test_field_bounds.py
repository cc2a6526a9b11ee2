"""Every field that sizes memory, files or processes has a bound, and every field a cluster
stores has a meaning: a value outside is INVALID_ARGUMENT naming the field (table-driven)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from yandex.cloud.mdb.redis.v1 import backup_retention_policy_service_pb2 as retention_pb
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.catalog.presets import GIB, PRESETS_BY_ID, disk_range
from managed_redis.catalog.versions import RedisVersion
from managed_redis.errors import InvalidArgument
from managed_redis.operations.submit import OperationQueue
from managed_redis.services import new_clusters
from managed_redis.services.access import Principal
from managed_redis.services.cluster_checks import (
    check_cloud_id,
    check_config_spec,
    check_host_names,
    check_host_specs,
    check_security_group_ids,
    normalized_config_spec,
)
from managed_redis.services.context import Caller
from managed_redis.services.retention_policies import BackupRetentionPolicyService
from tests.support.fake_world import make_world

VERSION = RedisVersion("7.2", "redis", 7, 2, 4, "redis-server")
NANO = PRESETS_BY_ID["hm1.nano"].memory  # 8 GiB


def spec_problems(config_spec: dict[str, Any], sharded: bool = False) -> dict[str, str]:
    body = {"resources": {"resourcePresetId": "hm1.nano"}, **config_spec}
    spec = normalized_config_spec(json_format.ParseDict(body, service_pb.ConfigSpec()))
    return {v.field: v.description for v in check_config_spec(spec, VERSION, sharded)}


# (field, value refused, value accepted, rule named): the resource-sizing bounds.
REDIS_BOUNDS = [
    ("databases", 2147483647, 1024, "must be in 1-1024"),
    ("databases", 1025, 1, "must be in 1-1024"),
    ("timeout", -5, 2147483647, "must be in 0-2147483647"),
    ("timeout", 2147483648, 0, "must be in 0-2147483647"),
    ("slowlogMaxLen", 10001, 10000, "must be in 0-10000"),
    ("maxmemoryPercent", 76, 75, "must be in 1-75"),
    ("luaTimeLimit", 5001, 5000, "must be in 0-5000"),
    ("replBacklogSizePercent", 76, 75, "must be in 1-75"),
    ("lfuDecayTime", 100001, 100000, "must be in 0-100000"),
    ("lfuLogFactor", 1001, 1000, "must be in 0-1000"),
    ("zsetMaxListpackEntries", 2049, 2048, "must be in 32-2048"),
    ("hashMaxListpackEntries", 2049, 0, "must be in 0-2048"),
    ("hashMaxListpackValue", 2049, 2048, "must be in 0-2048"),
    ("listMaxListpackSize", -6, -5, "must be in -5-2048"),
    ("setMaxListpackEntries", 2049, 2048, "must be in 0-2048"),
    ("setMaxListpackValue", 2049, 2048, "must be in 0-2048"),
    ("zsetMaxListpackValue", 2049, 2048, "must be in 0-2048"),
    ("aofMaxSizePercent", 100, 99, "must be in 1-99"),
]


@pytest.mark.parametrize(("field", "refused", "accepted", "rule"), REDIS_BOUNDS)
def test_redis_config_bounds(field: str, refused: int, accepted: int, rule: str) -> None:
    python_name = json_format.ParseDict({field: 1}, service_pb.ConfigSpec().redis).ListFields()[0][0].name
    assert spec_problems({"redis": {field: refused}}) == {f"config_spec.redis.{python_name}": rule}
    assert spec_problems({"redis": {field: accepted}}) == {}


def test_legacy_config_is_held_to_the_same_bounds_and_named_as_sent() -> None:
    # redisConfig_7_0 says only "databases > 0"; the server's bound still applies.
    assert spec_problems({"redisConfig_7_0": {"databases": 2147483647}}) == {
        "config_spec.redis.databases": "must be in 1-1024"
    }
    request = create_request(
        configSpec={
            "resources": {"resourcePresetId": "hm1.nano"},
            "redisConfig_7_0": {"password": "Password-123", "databases": "2147483647"},
        }
    )
    with pytest.raises(InvalidArgument) as caught:
        new_clusters.check(request, request.folder_id, normalized_config_spec(request.config_spec), [VERSION])
    assert [v.field for v in caught.value.violations] == ["config_spec.redis_config_7_0.databases"]


BUFFERS = [
    ({"hardLimit": NANO + 1}, "hard_limit", f"must be in 0-{NANO} (bytes: the host's memory)"),
    ({"softLimit": NANO + 1}, "soft_limit", f"must be in 0-{NANO} (bytes: the host's memory)"),
    ({"hardLimit": 1000, "softLimit": 2000}, "soft_limit", "must not exceed hard_limit"),
    ({"softSeconds": 2**31}, "soft_seconds", "must be in 0-2147483647"),
]


@pytest.mark.parametrize("kind", ["clientOutputBufferLimitNormal", "clientOutputBufferLimitPubsub"])
@pytest.mark.parametrize(("limits", "field", "rule"), BUFFERS)
def test_client_output_buffers_are_bounded_by_the_hosts_memory(
    kind: str, limits: dict[str, int], field: str, rule: str
) -> None:
    name = "client_output_buffer_limit_normal" if kind.endswith("Normal") else "client_output_buffer_limit_pubsub"
    assert spec_problems({"redis": {kind: limits}}) == {f"config_spec.redis.{name}.{field}": rule}
    fine = {"hardLimit": NANO, "softLimit": NANO // 2, "softSeconds": 60}
    assert spec_problems({"redis": {kind: fine}}) == {}


# (preset, disk type or "", disk size in GiB, problem field or None): api.md §7.1 and §7.3.
DISKS = [
    ("hm1.nano", "", 15, "disk_size"),  # below 2 x 8 GiB
    ("hm1.nano", "", 16, None),
    ("hm1.nano", "network-ssd", 4096, None),
    ("hm1.nano", "network-ssd", 4097, "disk_size"),
    ("hm1.nano", "network-ssd-nonreplicated", 93, "disk_type_id"),  # not on hm1
    ("hm2.nano", "network-ssd-nonreplicated", 93, None),
    ("hm2.nano", "network-ssd-nonreplicated", 100, "disk_size"),  # not a step of 93
    ("hm2.nano", "network-ssd-io-m3", 8184, None),
    ("hm2.nano", "network-ssd-io-m3", 8184 + 93, "disk_size"),
    ("hm2.xlarge", "local-ssd", 100, None),  # 2 x 48 GiB is below the first step
    ("hm2.xlarge", "local-ssd", 150, "disk_size"),  # not a step of 100
    ("hm2.xlarge", "local-ssd", 1500, None),
    ("hm2.xlarge", "local-ssd", 1600, "disk_size"),
    ("b2.medium", "", 33, "disk_size"),
    ("b2.medium", "", 8, None),
    ("b2.medium", "local-ssd", 8, "disk_type_id"),
]


@pytest.mark.parametrize(("preset", "disk_type", "size_gib", "problem"), DISKS)
def test_disk_size_follows_the_preset_and_disk_type(
    preset: str, disk_type: str, size_gib: int, problem: str | None
) -> None:
    resources = {"resourcePresetId": preset, "diskSize": str(size_gib * GIB), "diskTypeId": disk_type}
    found = spec_problems({"resources": resources})
    if problem is None:
        assert found == {}
    else:
        assert list(found) == [f"config_spec.resources.{problem}"], found


def test_local_ssd_range_starts_at_its_first_step() -> None:
    assert disk_range(PRESETS_BY_ID["hm2.xlarge"], "local-ssd").low == 100 * GIB
    assert disk_range(PRESETS_BY_ID["hm2.96xlarge"], "local-ssd").low == 192 * GIB


def test_disk_below_twice_the_memory_says_why() -> None:
    found = spec_problems({"resources": {"resourcePresetId": "hm1.nano", "diskSize": str(10 * GIB)}})
    assert found == {
        "config_spec.resources.disk_size": "hm1.nano on network-ssd: must be 16-4096 GiB "
        "(at least twice the preset's memory)"
    }


def test_autoscaling_disk_limit_and_shard_counts_are_bounded() -> None:
    found = spec_problems(
        {
            "resources": {"resourcePresetId": "hm1.nano", "diskSize": str(32 * GIB)},
            "diskSizeAutoscaling": {"diskSizeLimit": str(5000 * GIB)},
            "shardAutoscalingSettings": {"minShards": "4", "maxShards": "11"},
        }
    )
    assert set(found) == {
        "config_spec.disk_size_autoscaling.disk_size_limit",
        "config_spec.shard_autoscaling_settings.max_shards",
    }
    assert spec_problems({"shardAutoscalingSettings": {"minShards": "5", "maxShards": "3"}}) == {
        "config_spec.shard_autoscaling_settings.max_shards": "must be at least min_shards"
    }


@pytest.mark.parametrize(
    ("window", "field"), [({"hours": 24}, "hours"), ({"minutes": 60}, "minutes"), ({"hours": -1}, "hours")]
)
def test_backup_window_is_a_time_of_day(window: dict[str, int], field: str) -> None:
    assert spec_problems({"backupWindowStart": window}) == {
        f"config_spec.backup_window_start.{field}": "must be in 0-23" if field == "hours" else "must be in 0-59"
    }
    assert spec_problems({"backupWindowStart": {"hours": 23, "minutes": 59}}) == {}


def host(**fields: Any) -> service_pb.HostSpec:
    return json_format.ParseDict({"zoneId": "ru-central1-a", **fields}, service_pb.HostSpec())


HOSTS = [
    ({"zoneId": "x" * (1 << 20)}, "host_specs[0].zone_id"),
    ({"zoneId": "ru-central1-c"}, "host_specs[0].zone_id"),
    ({"subnetId": "subnet\x00"}, "host_specs[0].subnet_id"),
    ({"subnetId": "s" * 51}, "host_specs[0].subnet_id"),
    ({"replicaPriority": str(2**31)}, "host_specs[0].replica_priority"),
    ({"replicaPriority": "-1"}, "host_specs[0].replica_priority"),
]


@pytest.mark.parametrize(("fields", "path"), HOSTS)
def test_host_spec_fields(fields: dict[str, Any], path: str) -> None:
    found = check_host_specs([host(**fields)], tls_enabled=False, sharded=False)
    assert [v.field for v in found] == [path]
    assert len(found[0].description) < 200  # a megabyte of input is not echoed back


def test_a_huge_host_list_is_one_sentence() -> None:
    found = check_host_specs([host(zoneId="nowhere")] * 100_000, tls_enabled=False, sharded=True)
    assert [(v.field, v.description) for v in found] == [("host_specs", "a request adds at most 70 hosts, not 100000")]
    assert [v.field for v in check_host_names(["h"] * 71)] == ["host_names"]
    assert check_host_names(["h"] * 70) == []


IDS = [
    ("b1gtestfolder0000001", True),
    ("b1g", True),
    ("folder\x00id", False),
    ("f" * 51, False),
    ("b1g/../x", False),
    ("", False),
]


@pytest.mark.parametrize(("value", "fine"), IDS)
def test_cloud_ids(value: str, fine: bool) -> None:
    found = check_cloud_id(value, "folder_id", required=True)
    assert (found == []) is fine, found
    assert all(v.field == "folder_id" for v in found)


SECURITY_GROUPS = [
    (["sg1", "sg2"], []),
    ([f"sg{n}" for n in range(5)], []),
    ([f"sg{n}" for n in range(6)], ["security_group_ids"]),
    ([f"sg{n}" for n in range(100_000)], ["security_group_ids"]),
    (["sg1", "sg1"], ["security_group_ids"]),
    (["sg\x00"], ["security_group_ids[0]"]),
]


@pytest.mark.parametrize(("ids", "paths"), SECURITY_GROUPS)
def test_security_group_ids(ids: list[str], paths: list[str]) -> None:
    assert [v.field for v in check_security_group_ids(ids)] == paths


def create_request(**fields: Any) -> service_pb.CreateClusterRequest:
    body = {
        "folderId": "b1gtestfolder0000001",
        "name": "c1",
        "environment": "PRODUCTION",
        "configSpec": {"resources": {"resourcePresetId": "hm1.nano"}, "redis": {"password": "Password-123"}},
        "hostSpecs": [{"zoneId": "ru-central1-a"}],
        **fields,
    }
    return json_format.ParseDict(body, service_pb.CreateClusterRequest())


def test_create_names_every_bad_field_at_once() -> None:
    request = create_request(
        folderId="b1g\x00",
        securityGroupIds=["sg"] * 10,
        networkId="net work",
        configSpec={
            "resources": {"resourcePresetId": "hm1.nano", "diskSize": str(GIB)},
            "redis": {"password": "Password-123", "databases": "2147483647", "timeout": "-5"},
        },
    )
    with pytest.raises(InvalidArgument) as caught:
        new_clusters.check(request, request.folder_id, normalized_config_spec(request.config_spec), [VERSION])
    assert {v.field for v in caught.value.violations} == {
        "folder_id",
        "security_group_ids",
        "network_id",
        "config_spec.resources.disk_size",
        "config_spec.redis.databases",
        "config_spec.redis.timeout",
    }


def test_a_plain_create_passes() -> None:
    request = create_request()
    new = new_clusters.check(request, request.folder_id, normalized_config_spec(request.config_spec), [VERSION])
    assert new.folder_id == "b1gtestfolder0000001"


@pytest.mark.parametrize(
    ("fields", "field"), [({"policy_name": "p" * 64}, "policy_name"), ({"description": "d" * 257}, "description")]
)
def test_retention_policy_texts_are_bounded(tmp_path: Path, fields: dict[str, str], field: str) -> None:
    world = make_world(tmp_path)
    world.add_cluster("c1", hosts=1)
    service = BackupRetentionPolicyService(world.db, OperationQueue(world.db, world.clock))
    named: dict[str, Any] = {"policy_name": "monthly", **fields}
    request = retention_pb.CreateBackupRetentionPolicyRequest(cluster_id="c1", retain_for_days=30, **named)
    with pytest.raises(InvalidArgument) as caught:
        service.create(request, Caller(Principal("admin", admin_everywhere=True), request_id="r1"))
    assert [v.field for v in caught.value.violations] == [field]
    world.db.dispose()
