"""ClusterService reads: clusters, hosts, shards, operations and backups of a cluster."""

from __future__ import annotations

from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.domain.cluster_spec import config_spec_of
from managed_redis.domain.cluster_view import shards_ha
from managed_redis.errors import NotFound
from managed_redis.services.access import Permission
from managed_redis.services.backups import list_page
from managed_redis.services.cluster_base import ClusterServiceBase
from managed_redis.services.cluster_checks import require_folder_id
from managed_redis.services.context import Caller
from managed_redis.services.host_view import host_protos
from managed_redis.services.list_filter import parse_name_filter
from managed_redis.services.operation_view import operation_proto
from managed_redis.services.pagination import decode_time_key, encode_time_key, page_of, page_size
from managed_redis.store import clusters as cluster_store
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord


class ClusterReads(ClusterServiceBase):
    def get(self, request: service_pb.GetClusterRequest, caller: Caller) -> cluster_pb2.Cluster:
        return self._with_health(self._cluster(request.cluster_id, caller, Permission.READ))

    def list(self, request: service_pb.ListClustersRequest, caller: Caller) -> service_pb.ListClustersResponse:
        require_folder_id(request.folder_id)
        caller.authenticated.require(request.folder_id, Permission.READ)
        name = parse_name_filter(request.filter)
        size = page_size(request.page_size)
        after = decode_time_key(request.page_token)
        with self.db.read() as conn:
            briefs = cluster_store.briefs_in_folder(conn, request.folder_id, size + 1, after, name)
        page = briefs[:size]
        token = encode_time_key(page[-1].created_at, page[-1].id) if len(briefs) > size else ""
        return service_pb.ListClustersResponse(clusters=self._with_health_of(page), next_page_token=token)

    def list_hosts(
        self, request: service_pb.ListClusterHostsRequest, caller: Caller
    ) -> service_pb.ListClusterHostsResponse:
        record = self._cluster(request.cluster_id, caller, Permission.READ)
        with self.db.read() as conn:
            records = cluster_store.list_hosts(conn, record.id)
        view = self._views([record])[record.id]
        every = host_protos(record, records, view, self.queue.clock.now())
        hosts, token = page_of(every, request.page_size, request.page_token)
        return service_pb.ListClusterHostsResponse(hosts=hosts, next_page_token=token)

    def list_shards(
        self, request: service_pb.ListClusterShardsRequest, caller: Caller
    ) -> service_pb.ListClusterShardsResponse:
        record = self._cluster(request.cluster_id, caller, Permission.READ)
        with self.db.read() as conn:
            shards = cluster_store.list_shards(conn, record.id)
        page, token = page_of(shards, request.page_size, request.page_token)
        ha = self._shards_ha(record)
        return service_pb.ListClusterShardsResponse(
            shards=[cluster_pb2.Shard(name=s.name, cluster_id=record.id, is_ha=ha.get(s.name, False)) for s in page],
            next_page_token=token,
        )

    def _shards_ha(self, record: ClusterRecord) -> dict[str, bool]:
        view = self._views([record])[record.id]
        return shards_ha(config_spec_of(record).resources.resource_preset_id, view.active_host_zones())

    def get_shard(self, request: service_pb.GetClusterShardRequest, caller: Caller) -> cluster_pb2.Shard:
        record = self._cluster(request.cluster_id, caller, Permission.READ)
        with self.db.read() as conn:
            names = {s.name for s in cluster_store.list_shards(conn, record.id)}
        if request.shard_name not in names:
            raise NotFound(f"cluster {record.id} has no shard {request.shard_name!r}")
        is_ha = self._shards_ha(record).get(request.shard_name, False)
        return cluster_pb2.Shard(name=request.shard_name, cluster_id=record.id, is_ha=is_ha)

    def list_operations(
        self, request: service_pb.ListClusterOperationsRequest, caller: Caller
    ) -> service_pb.ListClusterOperationsResponse:
        self._cluster(request.cluster_id, caller, Permission.READ)
        after = decode_time_key(request.page_token)
        size = page_size(request.page_size)
        with self.db.read() as conn:
            records = op_store.list_for_cluster(conn, request.cluster_id, size + 1, after)
        page = records[:size]
        token = encode_time_key(page[-1].created_at, page[-1].id) if len(records) > size else ""
        return service_pb.ListClusterOperationsResponse(
            operations=[operation_proto(record) for record in page], next_page_token=token
        )

    def list_backups(
        self, request: service_pb.ListClusterBackupsRequest, caller: Caller
    ) -> service_pb.ListClusterBackupsResponse:
        record = self._cluster(request.cluster_id, caller, Permission.READ)
        backups, token = list_page(self.db, request.page_size, request.page_token, cluster_id=record.id)
        return service_pb.ListClusterBackupsResponse(backups=backups, next_page_token=token)
