"""The unmodified official SDK drives a cluster through its life over gRPC+TLS."""

from __future__ import annotations

import redis
from google.protobuf import empty_pb2
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub
from yandex.cloud.mdb.redis.v1.config import redis_pb2

from tests.support.clusters import FOLDER, PASSWORD
from tests.support.sdk_operations import wait_result
from tests.support.server import RunningServer


def test_create_failover_stop_start_delete(cluster_server: RunningServer) -> None:
    sdk = cluster_server.sdk()
    clusters = sdk.client(ClusterServiceStub)
    operation = clusters.Create(
        cs.CreateClusterRequest(
            folder_id=FOLDER,
            name="sdk-flow",
            environment=cluster_pb2.Cluster.PRODUCTION,
            config_spec=cs.ConfigSpec(
                resources=cluster_pb2.Resources(resource_preset_id="hm1.nano"),
                redis=redis_pb2.RedisConfig(password=PASSWORD),
            ),
            host_specs=[cs.HostSpec(zone_id=zone) for zone in ("ru-central1-a", "ru-central1-b", "ru-central1-d")],
        )
    )
    created = wait_result(sdk, operation, response_type=cluster_pb2.Cluster, meta_type=cs.CreateClusterMetadata)
    cluster = created.response
    assert created.meta.cluster_id == cluster.id
    assert cluster.status == cluster_pb2.Cluster.RUNNING and cluster.name == "sdk-flow"

    hosts = clusters.ListHosts(cs.ListClusterHostsRequest(cluster_id=cluster.id)).hosts
    assert len(hosts) == 3
    master = next(h.name for h in hosts if h.role == cluster_pb2.Host.MASTER)
    redis.Redis(host=master, password=PASSWORD).set("sdk", "works")

    failover = wait_result(
        sdk,
        clusters.StartFailover(cs.StartClusterFailoverRequest(cluster_id=cluster.id)),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.StartClusterFailoverMetadata,
    )
    assert failover.meta.cluster_id == cluster.id
    hosts = clusters.ListHosts(cs.ListClusterHostsRequest(cluster_id=cluster.id)).hosts
    new_master = next(h.name for h in hosts if h.role == cluster_pb2.Host.MASTER)
    assert new_master != master

    stopped = wait_result(
        sdk,
        clusters.Stop(cs.StopClusterRequest(cluster_id=cluster.id)),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.StopClusterMetadata,
    )
    assert stopped.response.status == cluster_pb2.Cluster.STOPPED
    started = wait_result(
        sdk,
        clusters.Start(cs.StartClusterRequest(cluster_id=cluster.id)),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.StartClusterMetadata,
    )
    assert started.response.status == cluster_pb2.Cluster.RUNNING
    assert redis.Redis(host=new_master, password=PASSWORD).get("sdk") == b"works"

    deleted = wait_result(
        sdk,
        clusters.Delete(cs.DeleteClusterRequest(cluster_id=cluster.id)),
        response_type=empty_pb2.Empty,
        meta_type=cs.DeleteClusterMetadata,
    )
    assert deleted.meta.cluster_id == cluster.id
    listed = clusters.List(cs.ListClustersRequest(folder_id=FOLDER)).clusters
    assert cluster.id not in {c.id for c in listed}
