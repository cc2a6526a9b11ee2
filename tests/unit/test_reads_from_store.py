"""Get, List and ListHosts answer from what the supervisor stored and never touch the data
plane: they run here with an engine that fails the test on any use."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.engine.facts import ProcessState
from managed_redis.operations.submit import OperationQueue
from managed_redis.services.access import Principal
from managed_redis.services.clusters import ClusterService
from managed_redis.services.context import Caller
from tests.support.fake_world import World, make_world

ADMIN = Caller(Principal("admin", admin_everywhere=True), request_id="r1")


class Tripwire:
    """An engine whose every use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a read touched the engine: engine.{name}")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = make_world(tmp_path)
    yield world
    world.db.dispose()


def service_without_engine(world: World) -> ClusterService:
    deps = dataclasses.replace(world.deps, engine=Tripwire())
    return ClusterService(world.db, OperationQueue(world.db, world.clock), deps)


def test_reads_show_stored_health_without_touching_the_engine(world: World) -> None:
    world.add_cluster("c1")
    world.engine.hosts["c1-h3"].process = ProcessState.STOPPED  # its redis-server frozen; its Sentinel answers
    world.supervisor().run_once()
    service = service_without_engine(world)

    got = service.get(service_pb.GetClusterRequest(cluster_id="c1"), ADMIN)
    assert got.health == cluster_pb2.Cluster.DEGRADED
    listed = service.list(service_pb.ListClustersRequest(folder_id="folder1"), ADMIN)
    assert [c.health for c in listed.clusters] == [cluster_pb2.Cluster.DEGRADED]
    hosts = service.list_hosts(service_pb.ListClusterHostsRequest(cluster_id="c1"), ADMIN).hosts
    health = {host.name: cluster_pb2.Host.Health.Name(host.health) for host in hosts}
    assert health == {"c1-h1": "ALIVE", "c1-h2": "ALIVE", "c1-h3": "DEGRADED"}
    roles = {host.name: cluster_pb2.Host.Role.Name(host.role) for host in hosts}
    assert roles == {"c1-h1": "MASTER", "c1-h2": "REPLICA", "c1-h3": "ROLE_UNKNOWN"}


def test_health_is_unknown_until_someone_looked_and_once_the_facts_are_stale(world: World) -> None:
    world.add_cluster("c1")
    service = service_without_engine(world)
    request = service_pb.GetClusterRequest(cluster_id="c1")
    assert service.get(request, ADMIN).health == cluster_pb2.Cluster.HEALTH_UNKNOWN
    world.supervisor().run_once()
    assert service.get(request, ADMIN).health == cluster_pb2.Cluster.ALIVE
    world.clock.advance(60)  # no supervisor looked for a minute
    assert service.get(request, ADMIN).health == cluster_pb2.Cluster.HEALTH_UNKNOWN
