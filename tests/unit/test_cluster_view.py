"""What Get shows beyond the declared cluster: isHa, config.fullVersion, monitoring, and the
legacy config set of the cluster's version."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from google.protobuf import json_format
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.catalog.versions import RedisVersion
from managed_redis.domain.cluster_spec import spec_json
from managed_redis.domain.cluster_view import cluster_is_ha, cluster_proto, shard_is_ha, shards_ha
from managed_redis.statuses import ClusterStatus
from managed_redis.store.clusters import ClusterRecord


def record(version: str, preset: str = "hm1.nano", redis: dict[str, Any] | None = None) -> ClusterRecord:
    spec = json_format.ParseDict(
        {"version": version, "resources": {"resourcePresetId": preset}, "redis": redis or {}}, service_pb.ConfigSpec()
    )
    return ClusterRecord(
        id="c9qcluster",
        folder_id="f",
        name="n",
        status=ClusterStatus.RUNNING,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        spec=spec_json(cluster_pb2.Cluster(), spec),
    )


@pytest.mark.parametrize(
    ("zones", "burstable", "ha"),
    [
        (["a"], False, False),
        (["a", "b"], False, True),
        (["a", "a"], False, False),
        (["a", "a", "b"], False, False),
        (["a", "b", "d"], False, True),
        (["a", "a", "b", "b"], False, True),
        (["a", "b"], True, False),
    ],
)
def test_a_shard_is_ha_with_two_hosts_and_no_zone_holding_more_than_half(
    zones: list[str], burstable: bool, ha: bool
) -> None:
    assert shard_is_ha(zones, burstable) is ha


def test_each_shard_is_judged_on_its_own() -> None:
    hosts = [("s1", "a"), ("s1", "b"), ("s2", "a"), ("s2", "a")]
    assert shards_ha("hm1.nano", hosts) == {"s1": True, "s2": False}


def test_a_cluster_is_ha_when_every_shard_is() -> None:
    assert cluster_is_ha("hm1.nano", [("s1", "a"), ("s1", "b"), ("s2", "a"), ("s2", "b")])
    assert not cluster_is_ha("hm1.nano", [("s1", "a"), ("s1", "b"), ("s2", "a")])
    assert not cluster_is_ha("b2.medium", [("s1", "a"), ("s1", "b")])
    assert not cluster_is_ha("hm1.nano", [])


def test_get_shows_is_ha_full_version_and_monitoring() -> None:
    versions = [RedisVersion("7.0", "redis", 7, 0, 15, "/usr/bin/redis-server")]
    shown = cluster_proto(record("7.0"), host_zones=[("s", "ru-central1-a"), ("s", "ru-central1-b")], versions=versions)
    assert shown.is_ha and shown.config.version == "7.0" and shown.config.full_version == "7.0.15"
    assert [(m.name, m.link) for m in shown.monitoring] == [
        ("Hosts", "/managed-redis/v1/clusters/c9qcluster/hosts"),
        ("Metrics", "/metrics"),
        ("Grafana", "/d/managed-redis/managed-redis?var-cluster_id=c9qcluster"),
    ]
    assert not cluster_proto(record("7.0"), host_zones=[("s", "ru-central1-a")], versions=versions).is_ha


def test_a_legacy_config_set_is_echoed_for_its_version() -> None:
    shown = cluster_proto(record("7.0", redis={"maxmemoryPolicy": "ALLKEYS_LRU", "timeout": "30"}))
    legacy = json_format.MessageToDict(shown.config)["redisConfig_7_0"]
    assert legacy["userConfig"] == {"maxmemoryPolicy": "ALLKEYS_LRU", "timeout": "30"}
    assert legacy["effectiveConfig"]["timeout"] == "30" and legacy["defaultConfig"]["databases"] == "16"
    assert shown.config.redis.user_config.timeout.value == 30
    # A version with no legacy config set shows only the unified one.
    assert shown.config.WhichOneof("redis_config") == "redis_config_7_0"
    assert cluster_proto(record("8.0-valkey")).config.WhichOneof("redis_config") is None
