"""Update masks as every request with one reads them: UpdateCluster's paths and each
UpdateHostSpec's."""

from __future__ import annotations

import pytest
from google.protobuf import wrappers_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.mdb.redis.v1.config.redis_pb2 import RedisConfig

from managed_redis.domain.update_masks import (
    cluster_mask_paths,
    host_spec_problems,
    host_spec_values,
    masked_update,
)
from managed_redis.errors import InvalidArgument


def test_version_named_config_paths_mean_the_redis_config() -> None:
    paths = [
        "name",
        "config_spec.redis_config_7_2.maxmemory_policy",
        "config_spec.redis_config_6_2",
        "config_spec.version",
    ]
    assert cluster_mask_paths(paths) == [
        "name",
        "config_spec.redis.maxmemory_policy",
        "config_spec.redis",
        "config_spec.version",
    ]


def test_a_masked_field_left_out_is_reset_and_the_rest_kept() -> None:
    current = service_pb.UpdateClusterRequest(cluster_id="c", name="old", description="kept")
    current.config_spec.redis.maxmemory_policy = RedisConfig.MaxmemoryPolicy.ALLKEYS_LRU
    request = service_pb.UpdateClusterRequest(cluster_id="c", name="new")
    request.update_mask.paths[:] = ["cluster_id", "name", "config_spec.redis.maxmemory_policy"]
    state, touches_password = masked_update(current, request)
    assert (state.name, state.description, state.config_spec.redis.maxmemory_policy) == ("new", "kept", 0)
    assert not touches_password


@pytest.mark.parametrize(
    ("path", "touches"), [("config_spec", True), ("config_spec.redis.password", True), ("name", False)]
)
def test_a_mask_reaching_the_password_says_so(path: str, touches: bool) -> None:
    request = service_pb.UpdateClusterRequest(cluster_id="c")
    request.update_mask.paths[:] = [path]
    assert masked_update(service_pb.UpdateClusterRequest(cluster_id="c"), request)[1] is touches


def test_unknown_cluster_paths_are_named_in_their_order() -> None:
    request = service_pb.UpdateClusterRequest(cluster_id="c")
    request.update_mask.paths[:] = ["zz", "name", "config_spec.nope"]
    with pytest.raises(InvalidArgument) as raised:
        masked_update(service_pb.UpdateClusterRequest(cluster_id="c"), request)
    assert str(raised.value) == "update_mask: unknown paths: zz, config_spec.nope"


def spec(paths: list[str], priority: int | None = None, public: bool = False) -> service_pb.UpdateHostSpec:
    result = service_pb.UpdateHostSpec(host_name="h1", assign_public_ip=public)
    if priority is not None:
        result.replica_priority.CopyFrom(wrappers_pb2.Int64Value(value=priority))
    result.update_mask.paths[:] = paths
    return result


@pytest.mark.parametrize(
    ("host_spec", "values"),
    [
        (spec([], 5, True), {"replica_priority": 5, "assign_public_ip": True}),
        (spec([]), {"replica_priority": None, "assign_public_ip": False}),
        (spec(["replica_priority"], 0, True), {"replica_priority": 0}),
        (spec(["assign_public_ip"], 5, True), {"assign_public_ip": True}),
    ],
)
def test_a_host_spec_sets_what_its_mask_lists_or_everything(
    host_spec: service_pb.UpdateHostSpec, values: dict[str, object]
) -> None:
    assert host_spec_values(host_spec) == values


def test_a_host_spec_mask_may_list_only_what_a_host_can_change() -> None:
    assert host_spec_problems(spec(["replica_priority", "assign_public_ip"]), "update_host_specs[0]") == []
    [problem] = host_spec_problems(spec(["zone_id", "replica_priority", "subnet_id"]), "update_host_specs[1]")
    assert str(problem) == "update_host_specs[1].update_mask: unknown paths: subnet_id, zone_id"
