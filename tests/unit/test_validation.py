"""The generic validator against real request descriptors."""

from __future__ import annotations

import pytest
from google.protobuf import wrappers_pb2
from google.protobuf.message import Message
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1 import resource_preset_service_pb2 as rps
from yandex.cloud.mdb.redis.v1.config import redis_pb2

from managed_redis.api.validation import parse_bound, validate
from managed_redis.errors import InvalidArgument


def violations(message: Message) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        validate(message)
    return {v.field: v.description for v in caught.value.violations}


def test_required_field_is_named() -> None:
    assert violations(cs.ListClustersRequest()) == {"folder_id": "required"}


def test_value_range_names_field_and_rule() -> None:
    found = violations(cs.ListClustersRequest(folder_id="b1g", page_size=1001))
    assert found == {"page_size": "must be in 0-1000"}


def test_valid_request_passes() -> None:
    validate(cs.ListClustersRequest(folder_id="b1g", page_size=1000, filter='name="x"'))
    validate(rps.ListResourcePresetsRequest())


def test_every_violation_is_reported_at_once() -> None:
    request = cs.CreateClusterRequest(name="bad name!", description="x" * 257)
    found = violations(request)
    assert found["folder_id"] == "required"
    assert found["name"] == "must match [a-zA-Z0-9_-]*"
    assert found["description"] == "length must be <=256"
    assert found["environment"] == "required"
    assert found["config_spec"] == "required"
    assert found["host_specs"] == "number of elements must be >0"


def test_nested_and_repeated_paths() -> None:
    request = cs.CreateClusterRequest(
        folder_id="f",
        name="ok",
        environment=cluster_pb2.Cluster.PRODUCTION,
        config_spec=cs.ConfigSpec(
            redis=redis_pb2.RedisConfig(
                maxmemory_percent=wrappers_pb2.Int64Value(value=90),
                password="short",
            )
        ),
        host_specs=[cs.HostSpec(zone_id="a"), cs.HostSpec(shard_name="bad shard")],
    )
    found = violations(request)
    assert found == {
        "config_spec.redis.maxmemory_percent": "must be in 1-75",
        "host_specs[1].shard_name": "must match [a-zA-Z0-9_-]*",
    }


def test_password_value_never_appears_in_the_message() -> None:
    secret = "pa ss;word"
    request = cs.CreateClusterRequest(
        folder_id="f",
        name="ok",
        environment=cluster_pb2.Cluster.PRODUCTION,
        host_specs=[cs.HostSpec()],
        config_spec=cs.ConfigSpec(redis=redis_pb2.RedisConfig(password=secret)),
    )
    with pytest.raises(InvalidArgument) as caught:
        validate(request)
    assert "config_spec.redis.password" in caught.value.message
    assert secret not in caught.value.message


def test_map_keys_values_and_size() -> None:
    request = cs.CreateClusterRequest(
        folder_id="f",
        name="ok",
        environment=cluster_pb2.Cluster.PRODUCTION,
        config_spec=cs.ConfigSpec(),
        host_specs=[cs.HostSpec()],
    )
    request.labels["Bad"] = "ok"
    request.labels["good"] = "BAD VALUE"
    found = violations(request)
    assert found == {
        "labels['Bad'] key": r"must match [a-z][-_./\@0-9a-z]*",
        "labels['good']": "must match [-_0-9a-z]*",
    }
    too_many = cs.CreateClusterRequest(
        folder_id="f",
        name="ok",
        environment=cluster_pb2.Cluster.PRODUCTION,
        config_spec=cs.ConfigSpec(),
        host_specs=[cs.HostSpec()],
    )
    for n in range(65):
        too_many.labels[f"k{n}"] = "v"
    assert violations(too_many) == {"labels": "number of entries must be <=64"}


def test_exactly_one_oneof() -> None:
    from yandex.cloud.mdb.redis.v1 import maintenance_pb2

    request = cs.UpdateClusterRequest(cluster_id="c", maintenance_window=maintenance_pb2.MaintenanceWindow())
    assert violations(request) == {
        "maintenance_window.policy": "exactly one of anytime, weekly_maintenance_window must be set"
    }


def test_repeated_string_elements_get_the_field_rules() -> None:
    request = cs.DeleteClusterHostsRequest(cluster_id="c", host_names=["ok", "x" * 254])
    assert violations(request) == {"host_names[1]": "length must be <=253"}


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("0-1000", [0, 1000], [-1, 1001]),
        ("-5-2048", [-5, 0, 2048], [-6, 2049]),
        ("<=50", [0, 50], [51]),
        (">0", [1], [0, -1]),
        (">=10", [10], [9]),
        ("8-128", [8, 128], [7, 129]),
    ],
)
def test_bounds(text: str, inside: list[int], outside: list[int]) -> None:
    bound = parse_bound(text)
    assert all(bound.holds(n) for n in inside)
    assert not any(bound.holds(n) for n in outside)


def test_enum_numbers_no_enum_declares_are_named() -> None:
    # Numbers no enum declares, as a client built against a newer API might send.
    request = cs.UpdateClusterRequest(
        cluster_id="c1", persistence_mode=cluster_pb2.Cluster.PersistenceMode.ValueType(77)
    )
    request.config_spec.redis.maxmemory_policy = redis_pb2.RedisConfig.MaxmemoryPolicy.ValueType(99)
    with pytest.raises(InvalidArgument) as caught:
        validate(request)
    assert {v.field for v in caught.value.violations} == {"persistence_mode", "config_spec.redis.maxmemory_policy"}
    assert "persistence_mode: 77 is not a PersistenceMode; use one of ON, OFF, ON_REPLICAS" in caught.value.message
    request = cs.UpdateClusterRequest(cluster_id="c1", persistence_mode=cluster_pb2.Cluster.ON_REPLICAS)
    request.config_spec.redis.maxmemory_policy = redis_pb2.RedisConfig.NOEVICTION
    validate(request)
