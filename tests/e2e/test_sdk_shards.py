"""Every shard RPC through the official SDK."""

from __future__ import annotations

from google.protobuf import empty_pb2
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub

from tests.support.cluster_clients import cluster_client
from tests.support.clusters import FOLDER
from tests.support.sdk_operations import config, wait_result
from tests.support.server import RunningServer


def test_shard_rpcs(cluster_server: RunningServer) -> None:
    sdk = cluster_server.sdk()
    clusters = sdk.client(ClusterServiceStub)
    created = wait_result(
        sdk,
        clusters.Create(
            cs.CreateClusterRequest(
                folder_id=FOLDER,
                name="sdk-sharded",
                environment=cluster_pb2.Cluster.PRODUCTION,
                config_spec=config(),
                sharded=True,
                host_specs=[cs.HostSpec(zone_id="ru-central1-a", shard_name=name) for name in ("a", "b", "c")],
            )
        ),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.CreateClusterMetadata,
    ).response
    assert created.sharded
    shards = clusters.ListShards(cs.ListClusterShardsRequest(cluster_id=created.id)).shards
    assert [s.name for s in shards] == ["a", "b", "c"]
    assert clusters.GetShard(cs.GetClusterShardRequest(cluster_id=created.id, shard_name="b")).name == "b"
    hosts = clusters.ListHosts(cs.ListClusterHostsRequest(cluster_id=created.id)).hosts
    client = cluster_client(hosts[0].name)
    for number in range(2000):
        client.set(f"sdk:{number}", number)

    added = wait_result(
        sdk,
        clusters.AddShard(
            cs.AddClusterShardRequest(
                cluster_id=created.id, shard_name="d", host_specs=[cs.HostSpec(zone_id="ru-central1-b")]
            )
        ),
        response_type=cluster_pb2.Shard,
        meta_type=cs.AddClusterShardMetadata,
    )
    assert added.response.name == "d" and added.meta.shard_name == "d"
    rebalanced = wait_result(
        sdk,
        clusters.Rebalance(cs.RebalanceClusterRequest(cluster_id=created.id)),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.RebalanceClusterMetadata,
    )
    assert rebalanced.meta.cluster_id == created.id
    deleted = wait_result(
        sdk,
        clusters.DeleteShard(cs.DeleteClusterShardRequest(cluster_id=created.id, shard_name="a")),
        response_type=empty_pb2.Empty,
        meta_type=cs.DeleteClusterShardMetadata,
    )
    assert deleted.meta.shard_name == "a"
    shards = clusters.ListShards(cs.ListClusterShardsRequest(cluster_id=created.id)).shards
    assert [s.name for s in shards] == ["b", "c", "d"]
    remaining = clusters.ListHosts(cs.ListClusterHostsRequest(cluster_id=created.id)).hosts
    fresh = cluster_client(remaining[0].name)
    assert [fresh.get(f"sdk:{n}") for n in range(2000)] == [str(n) for n in range(2000)]

    plain = wait_result(
        sdk,
        clusters.Create(
            cs.CreateClusterRequest(
                folder_id=FOLDER,
                name="sdk-to-shard",
                environment=cluster_pb2.Cluster.PRODUCTION,
                config_spec=config(),
                host_specs=[cs.HostSpec(zone_id="ru-central1-a")],
            )
        ),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.CreateClusterMetadata,
    ).response
    enabled = wait_result(
        sdk,
        clusters.EnableSharding(cs.EnableShardingClusterRequest(cluster_id=plain.id)),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.EnableShardingClusterMetadata,
    )
    assert enabled.response.sharded
    assert [s.name for s in clusters.ListShards(cs.ListClusterShardsRequest(cluster_id=plain.id)).shards] == ["shard1"]
