"""ClusterService shard methods: add, delete and rebalance shards, and turn sharding on."""

from __future__ import annotations

from sqlalchemy.engine import Connection
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.operation import operation_pb2

from managed_redis.domain.cluster_spec import declared_of
from managed_redis.domain.topology import MAX_HOSTS_PER_SHARD, MAX_HOSTS_SHARDED, MAX_SHARDS
from managed_redis.engine.addresses import allocate
from managed_redis.errors import AlreadyExists, FailedPrecondition, NotFound
from managed_redis.operations import registry, steps
from managed_redis.operations.sharding_switch import refuse_other_databases
from managed_redis.services import new_clusters
from managed_redis.services.capacity import admit_hosts, preset_of
from managed_redis.services.cluster_base import ClusterServiceBase
from managed_redis.services.cluster_checks import check_host_specs, check_tls_support, raise_if_any
from managed_redis.services.context import Caller
from managed_redis.statuses import HostState
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import ClusterRecord, ShardRecord


def require_sharded(record: ClusterRecord) -> None:
    if not record.sharded:
        raise FailedPrecondition(
            f"cluster {record.id} is not sharded; shards are managed in sharded clusters only (see EnableSharding)"
        )


class ClusterShards(ClusterServiceBase):
    def add_shard(self, request: service_pb.AddClusterShardRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, registry.ADD_SHARD)
        require_sharded(record)
        raise_if_any(check_host_specs(request.host_specs, declared_of(record).tls_enabled, True))
        if len(request.host_specs) > MAX_HOSTS_PER_SHARD:
            raise FailedPrecondition(f"a shard has 1-{MAX_HOSTS_PER_SHARD} hosts, not {len(request.host_specs)}")

        def check(conn: Connection, current: ClusterRecord) -> None:
            shards = cluster_store.list_shards(conn, current.id)
            if request.shard_name in {shard.name for shard in shards}:
                raise AlreadyExists(f"cluster {current.id} already has a shard named {request.shard_name!r}")
            if len(shards) >= MAX_SHARDS:
                raise FailedPrecondition(f"cluster {current.id} has {len(shards)} shards, the most a cluster may have")
            hosts = cluster_store.list_hosts(conn, current.id)
            if len(hosts) + len(request.host_specs) > MAX_HOSTS_SHARDED:
                raise FailedPrecondition(f"a sharded cluster has at most {MAX_HOSTS_SHARDED} hosts")
            if (preset := preset_of(current)) is not None:
                admit_hosts(conn, self.deps.settings, preset, len(request.host_specs))
            now = self.queue.clock.now()
            cluster_store.insert_shard(conn, ShardRecord(current.id, request.shard_name, now))
            addresses = allocate(
                self.deps.settings.host_network, cluster_store.used_addresses(conn), len(request.host_specs)
            )
            for spec, address in zip(request.host_specs, addresses, strict=True):
                host = new_clusters.host_record(current.id, request.shard_name, spec, address, now)
                host.state = HostState.ADDING
                cluster_store.insert_host(conn, host)

        return self._change(
            caller,
            record.id,
            registry.ADD_SHARD,
            request,
            service_pb.AddClusterShardMetadata(cluster_id=record.id, shard_name=request.shard_name),
            check=check,
        )

    def delete_shard(self, request: service_pb.DeleteClusterShardRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, registry.DELETE_SHARD)
        require_sharded(record)

        def check(conn: Connection, current: ClusterRecord) -> None:
            shards = {shard.name for shard in cluster_store.list_shards(conn, current.id)}
            if request.shard_name not in shards:
                raise NotFound(f"cluster {current.id} has no shard {request.shard_name!r}")
            if len(shards) == 1:
                raise FailedPrecondition(f"shard {request.shard_name} is the last shard of cluster {current.id}")
            for host in cluster_store.list_hosts(conn, current.id):
                if host.shard_name == request.shard_name:
                    cluster_store.update_host(conn, host.name, state=HostState.REMOVING)

        return self._change(
            caller,
            record.id,
            registry.DELETE_SHARD,
            request,
            service_pb.DeleteClusterShardMetadata(cluster_id=record.id, shard_name=request.shard_name),
            check=check,
        )

    def rebalance(self, request: service_pb.RebalanceClusterRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, registry.REBALANCE_CLUSTER)
        require_sharded(record)
        return self._change(
            caller,
            record.id,
            registry.REBALANCE_CLUSTER,
            request,
            service_pb.RebalanceClusterMetadata(cluster_id=record.id),
        )

    def enable_sharding(
        self, request: service_pb.EnableShardingClusterRequest, caller: Caller
    ) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, registry.ENABLE_SHARDING)
        if record.sharded:
            raise FailedPrecondition(f"cluster {record.id} is sharded already")
        plan = self._loaded(record)
        # A TLS cluster on a version without TLS (made before this server refused one) stops here.
        raise_if_any(check_tls_support(plan.version, plan.tls_enabled, self.deps.versions))
        refuse_other_databases(plan, steps.current_master(plan))
        return self._change(
            caller,
            record.id,
            registry.ENABLE_SHARDING,
            request,
            service_pb.EnableShardingClusterMetadata(cluster_id=record.id),
        )
