"""Limits a user meets over REST and gRPC: a field out of its bounds is INVALID_ARGUMENT naming
it, a cluster the machine cannot hold is RESOURCE_EXHAUSTED saying how much memory is short,
and neither creates nor changes anything. The server runs on a "small machine": 20 GiB that it
promises no more than once (``MREDIS_MACHINE_MEMORY_GIB``, ``MREDIS_MEMORY_OVERCOMMIT``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import requests
from google.protobuf import json_format
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub

from tests.support.clusters import FOLDER, create_body, create_cluster, hosts_of, run, wait_operation
from tests.support.processes import kill_all, redis_processes
from tests.support.server import RunningServer, host_network, json_object, running_server

CLUSTERS = "/managed-redis/v1/clusters"
GIB = 1 << 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    network = host_network()
    env = {
        "MREDIS_HOST_NETWORK": network,
        "MREDIS_MACHINE_MEMORY_GIB": "20",
        "MREDIS_MEMORY_OVERCOMMIT": "1",
    }
    try:
        with running_server(tmp_path_factory.mktemp("capacity"), env=env) as running:
            yield running
    finally:
        kill_all(network)


@pytest.fixture(autouse=True)
def no_clusters_left(server: RunningServer) -> Iterator[None]:
    """Each test starts on an empty machine and gives back what it took, even when it fails."""
    yield
    listed = server.rest("GET", CLUSTERS, params={"folderId": FOLDER}).json()
    for cluster in listed.get("clusters", []):
        run(server, "DELETE", f"{CLUSTERS}/{cluster['id']}")


def cluster_names(server: RunningServer) -> set[str]:
    listed = server.rest("GET", CLUSTERS, params={"folderId": FOLDER}).json()
    return {cluster["name"] for cluster in listed.get("clusters", [])}


def operation_ids(server: RunningServer, cluster_id: str) -> list[str]:
    listed = server.rest("GET", f"{CLUSTERS}/{cluster_id}/operations").json()
    return [operation["id"] for operation in listed.get("operations", [])]


def refused(response: requests.Response, code: int, http: int) -> dict[str, Any]:
    """The google.rpc.Status body of a refusal with ``code`` (HTTP ``http``)."""
    assert response.status_code == http, response.text
    body = json_object(response)
    assert body["code"] == code, body
    return body


def violated_fields(body: dict[str, Any]) -> set[str]:
    return {v["field"] for d in body["details"] for v in d.get("fieldViolations", [])}


def with_redis(**redis: Any) -> dict[str, Any]:
    return {"resources": {"resourcePresetId": "hm1.nano"}, "redis": {"password": "Test-Password-1", **redis}}


# (what the fuzz run sent, the field named): each was accepted before.
BAD_CREATES = [
    ({"configSpec": with_redis(databases="2147483647")}, "config_spec.redis.databases"),
    ({"configSpec": with_redis(timeout="-5")}, "config_spec.redis.timeout"),
    ({"configSpec": with_redis(slowlogMaxLen="100000000")}, "config_spec.redis.slowlog_max_len"),
    (
        {"configSpec": with_redis(clientOutputBufferLimitNormal={"hardLimit": str(64 * GIB)})},
        "config_spec.redis.client_output_buffer_limit_normal.hard_limit",
    ),
    ({"hostSpecs": [{"zoneId": "z" * (1 << 20)}]}, "host_specs[0].zone_id"),
    ({"securityGroupIds": ["a"] * 100_000}, "security_group_ids"),
    ({"folderId": "b1g\u0000folder"}, "folder_id"),
    (
        {"configSpec": {**with_redis(), "resources": {"resourcePresetId": "hm1.nano", "diskSize": str(10 * GIB)}}},
        "config_spec.resources.disk_size",
    ),
    ({"hostSpecs": [{"zoneId": "ru-central1-a"}] * 1000}, "host_specs"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_CREATES, ids=[field for _, field in BAD_CREATES])
def test_a_create_out_of_bounds_is_invalid_argument_and_creates_nothing(
    server: RunningServer, fields: dict[str, Any], field: str
) -> None:
    body = create_body("refused", hosts=1, **fields)
    answer = refused(server.rest("POST", CLUSTERS, json=body), code=3, http=400)
    assert field in violated_fields(answer), answer
    assert len(answer["message"]) < 1000  # no megabyte echoed back
    assert "refused" not in cluster_names(server)


def test_an_update_out_of_bounds_changes_nothing(server: RunningServer) -> None:
    cluster = create_cluster(server, "bounded", hosts=1)  # 8 GiB of 20
    path = f"{CLUSTERS}/{cluster['id']}"
    before, operations = server.rest("GET", path).json(), operation_ids(server, cluster["id"])
    attempts = [
        ({"redis": {"databases": "2147483647"}}, "config_spec.redis.databases"),
        ({"redis": {"timeout": "-5"}}, "config_spec.redis.timeout"),
        ({"redis": {"replBacklogSizePercent": "100"}}, "config_spec.redis.repl_backlog_size_percent"),
    ]
    for config_spec, field in attempts:
        mask = "configSpec.redis." + next(iter(config_spec["redis"]))
        answer = refused(
            server.rest("PATCH", path, json={"updateMask": mask, "configSpec": config_spec}), code=3, http=400
        )
        assert field in violated_fields(answer), answer
    answer = refused(
        server.rest("PATCH", path, json={"updateMask": "securityGroupIds", "securityGroupIds": ["a"] * 100_000}),
        code=3,
        http=400,
    )
    assert violated_fields(answer) == {"security_group_ids"}

    failover = {"failoverType": "SWITCH_FROM_ZONE", "zoneId": "z" * (1 << 20)}
    answer = refused(server.rest("POST", f"{path}:startFailover", json=failover), code=3, http=400)
    assert violated_fields(answer) == {"zone_id"} and len(answer["message"]) < 1000

    # hm1.nano -> hm1.medium grows the host by 16 GiB; 12 GiB are free.
    bigger = {
        "updateMask": "configSpec.resources.resourcePresetId",
        "configSpec": {"resources": {"resourcePresetId": "hm1.medium"}},
    }
    answer = refused(server.rest("PATCH", path, json=bigger), code=8, http=429)
    assert answer["message"].startswith("memory: needs 16 GiB for 1 host of hm1.medium (from hm1.nano), 12 GiB of 20")

    after = server.rest("GET", path).json()
    assert after["config"] == before["config"] and after["status"] == "RUNNING"
    assert operation_ids(server, cluster["id"]) == operations


def test_a_cluster_the_machine_cannot_hold_is_refused_until_another_is_deleted(server: RunningServer) -> None:
    presets = {
        p["id"]: p
        for p in server.rest("GET", "/managed-redis/v1/resourcePresets?pageSize=1000").json()["resourcePresets"]
    }
    assert presets["hm1.small"]["zoneIds"]  # 16 GiB: this machine can run one
    assert "zoneIds" not in presets["hm1.medium"]  # 24 GiB: larger than the whole machine

    first = create_cluster(server, "first", hosts=2)  # 16 GiB of 20
    processes = set(redis_processes(server.network).values())
    answer = refused(server.rest("POST", CLUSTERS, json=create_body("second", hosts=1)), code=8, http=429)
    assert answer["message"].startswith(
        "memory: needs 8 GiB for 1 host of hm1.nano, 4 GiB of 20 GiB free (this machine's 20 GiB x memory_overcommit 1)"
    )
    assert cluster_names(server) == {"first"}
    more = {"hostSpecs": [{"zoneId": "ru-central1-d"}]}
    refused(server.rest("POST", f"{CLUSTERS}/{first['id']}/hosts:batchCreate", json=more), code=8, http=429)
    assert len(hosts_of(server, first["id"])) == 2
    assert set(redis_processes(server.network).values()) == processes  # nothing started for what was refused

    run(server, "DELETE", f"{CLUSTERS}/{first['id']}")
    second = server.rest("POST", CLUSTERS, json=create_body("second", hosts=1))
    assert second.status_code == 200, second.text
    done = wait_operation(server, second.json())
    assert "error" not in done, done
    assert cluster_names(server) == {"second"}


def test_the_sdk_gets_invalid_argument_naming_the_field(server: RunningServer) -> None:
    request = json_format.ParseDict(
        create_body("sdk-refused", hosts=1, configSpec=with_redis(databases="2147483647")),
        service_pb.CreateClusterRequest(),
    )
    with pytest.raises(grpc.RpcError) as caught:
        server.sdk().client(ClusterServiceStub).Create(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "config_spec.redis.databases: must be in 1-1024" in caught.value.details()
    assert "sdk-refused" not in cluster_names(server)
