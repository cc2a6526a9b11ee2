"""What an Update request means for the declared state (no processes involved)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from google.protobuf import json_format
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs

from managed_redis.domain.cluster_spec import spec_json
from managed_redis.errors import FailedPrecondition, InvalidArgument
from managed_redis.services.cluster_update import plan_update
from managed_redis.statuses import ClusterStatus
from managed_redis.store.clusters import ClusterRecord


def record() -> ClusterRecord:
    declared = cluster_pb2.Cluster(description="old", labels={"a": "1"}, deletion_protection=True)
    spec = json_format.ParseDict(
        {
            "version": "7.0",
            "resources": {"resourcePresetId": "hm1.nano"},
            "redis": {"timeout": "10", "password": "x" * 10},
        },
        cs.ConfigSpec(),
    )
    return ClusterRecord(
        id="c1",
        folder_id="f",
        name="old-name",
        status=ClusterStatus.RUNNING,
        created_at=dt.datetime.now(dt.UTC),
        spec=spec_json(declared, spec),
    )


def request(**fields: Any) -> cs.UpdateClusterRequest:
    return json_format.ParseDict({"clusterId": "c1", **fields}, cs.UpdateClusterRequest())


def test_mask_changes_only_its_paths() -> None:
    plan = plan_update(
        record(),
        request(
            updateMask="description,configSpec.redis.timeout",
            description="new",
            labels={"b": "2"},
            configSpec={"redis": {"timeout": "20"}},
        ),
    )
    assert plan.state.description == "new" and dict(plan.state.labels) == {"a": "1"}
    assert plan.state.config_spec.redis.timeout.value == 20
    assert plan.state.config_spec.resources.resource_preset_id == "hm1.nano"
    assert plan.changed_paths == ("description", "config_spec") and plan.password == ""
    assert plan.state.config_spec.redis.password == ""


def test_masked_path_left_out_of_the_body_resets_that_field() -> None:
    plan = plan_update(record(), request(updateMask="configSpec.redis.timeout"))
    assert not plan.state.config_spec.redis.HasField("timeout")


def test_without_mask_the_request_replaces_what_it_may() -> None:
    plan = plan_update(record(), request(description="only this"))
    assert plan.state.description == "only this"
    assert dict(plan.state.labels) == {} and plan.state.deletion_protection is False
    assert plan.state.name == "old-name" and plan.state.config_spec.version == "7.0"
    assert plan.state.config_spec.redis.timeout.value == 10  # config_spec absent: kept whole


def test_password_alone_and_never_mixed() -> None:
    alone = plan_update(
        record(), request(updateMask="configSpec.redis.password", configSpec={"redis": {"password": "N" * 12}})
    )
    assert alone.password == "N" * 12 and alone.changed_paths == ()
    with pytest.raises(InvalidArgument, match="config_spec.redis.password"):
        plan_update(
            record(),
            request(
                updateMask="configSpec.redis.password,description",
                description="x",
                configSpec={"redis": {"password": "N" * 12}},
            ),
        )


def test_no_changes_and_unknown_paths() -> None:
    with pytest.raises(FailedPrecondition, match="no changes detected"):
        plan_update(record(), request(updateMask="description", description="old"))
    with pytest.raises(InvalidArgument, match="update_mask: unknown paths: config_spec.nothing"):
        plan_update(record(), request(updateMask="configSpec.nothing"))


def test_legacy_config_paths_map_to_the_unified_config() -> None:
    legacy = request(configSpec={"redisConfig_7_0": {"timeout": "30"}})
    legacy.update_mask.paths.append("config_spec.redis_config_7_0.timeout")  # as gRPC clients send it
    plan = plan_update(record(), legacy)
    assert plan.state.config_spec.redis.timeout.value == 30
    assert plan.state.config_spec.WhichOneof("redis_spec") is None
