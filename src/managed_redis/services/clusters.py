"""ClusterService: clusters, their hosts and shards, and every change to them."""

from __future__ import annotations

from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.errors import NotFound
from managed_redis.services.access import Permission
from managed_redis.services.cluster_view import cluster_proto
from managed_redis.services.context import Caller
from managed_redis.services.list_filter import parse_name_filter
from managed_redis.services.operation_view import operation_proto
from managed_redis.services.pagination import decode_time_key, encode_time_key, page_size
from managed_redis.store import clusters as cluster_store
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord
from managed_redis.store.database import Database


class ClusterService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _cluster(self, cluster_id: str, caller: Caller, permission: Permission) -> ClusterRecord:
        with self.db.read() as conn:
            record = cluster_store.get(conn, cluster_id)
        if record is None:
            raise NotFound(f"cluster {cluster_id} does not exist")
        caller.authenticated.require(record.folder_id, permission)
        return record

    def get(self, request: service_pb.GetClusterRequest, caller: Caller) -> cluster_pb2.Cluster:
        return cluster_proto(self._cluster(request.cluster_id, caller, Permission.READ))

    def list(
        self, request: service_pb.ListClustersRequest, caller: Caller
    ) -> service_pb.ListClustersResponse:
        caller.authenticated.require(request.folder_id, Permission.READ)
        name = parse_name_filter(request.filter)
        size = page_size(request.page_size)
        after = decode_time_key(request.page_token)
        with self.db.read() as conn:
            records = cluster_store.list_in_folder(conn, request.folder_id, size + 1, after, name)
        page = records[:size]
        token = encode_time_key(page[-1].created_at, page[-1].id) if len(records) > size else ""
        return service_pb.ListClustersResponse(
            clusters=[cluster_proto(record) for record in page], next_page_token=token
        )

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
