"""ClusterService: clusters, their hosts and shards, and every change to them.

Reads come from the store, with health and roles read live from the processes. Changes
are checked here (rights, request, state) and submitted as operations; the handlers in
``operations/handlers`` carry them out.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from yandex.cloud.mdb.redis.v1 import cluster_pb2, maintenance_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.operation import operation_pb2

from managed_redis import ids
from managed_redis.domain.cluster_spec import spec_json
from managed_redis.domain.cluster_view import cluster_proto
from managed_redis.domain.topology import DEFAULT_SHARD
from managed_redis.engine.addresses import allocate
from managed_redis.errors import AlreadyExists, NotFound, Unimplemented
from managed_redis.operations.deps import Deps
from managed_redis.operations.health import cluster_health, probe_cluster
from managed_redis.operations.plans import ClusterPlan
from managed_redis.operations.submit import OperationQueue, Submission, Submitter
from managed_redis.services.access import Permission
from managed_redis.services.cluster_checks import (
    check_config_spec,
    check_host_specs,
    check_password,
    normalized_config_spec,
    raise_if_any,
    resolve_version,
)
from managed_redis.services.context import Caller
from managed_redis.services.host_view import host_protos
from managed_redis.services.list_filter import parse_name_filter
from managed_redis.services.operation_view import operation_proto
from managed_redis.services.pagination import decode_time_key, encode_time_key, page_of, page_size
from managed_redis.store import clusters as cluster_store
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord, HostRecord, ShardRecord
from managed_redis.store.database import Database

Status = cluster_pb2.Cluster.Status


class ClusterService:
    def __init__(self, db: Database, queue: OperationQueue, deps: Deps) -> None:
        self.db = db
        self.queue = queue
        self.deps = deps

    # -- helpers ------------------------------------------------------------------------------

    def _cluster(self, cluster_id: str, caller: Caller, permission: Permission) -> ClusterRecord:
        with self.db.read() as conn:
            record = cluster_store.get(conn, cluster_id)
        if record is None:
            raise NotFound(f"cluster {cluster_id} does not exist")
        caller.authenticated.require(record.folder_id, permission)
        return record

    def _plan(self, record: ClusterRecord) -> ClusterPlan:
        return ClusterPlan.load(self.db, self.deps, record.id)

    def _with_health(self, record: ClusterRecord) -> cluster_pb2.Cluster:
        plan = self._plan(record)
        return cluster_proto(plan.record, cluster_health(plan, probe_cluster(plan)))

    def _submit(
        self,
        caller: Caller,
        kind: str,
        request_for_fingerprint: object,
        prepare: Callable[[Connection], Submission],
    ) -> operation_pb2.Operation:
        submitter = Submitter(caller.authenticated.subject_id, caller.idempotency_key)
        record = self.queue.submit(submitter, kind, request_for_fingerprint, prepare)  # type: ignore[arg-type]
        return operation_proto(record)

    # -- reads --------------------------------------------------------------------------------

    def get(self, request: service_pb.GetClusterRequest, caller: Caller) -> cluster_pb2.Cluster:
        return self._with_health(self._cluster(request.cluster_id, caller, Permission.READ))

    def list(self, request: service_pb.ListClustersRequest, caller: Caller) -> service_pb.ListClustersResponse:
        caller.authenticated.require(request.folder_id, Permission.READ)
        name = parse_name_filter(request.filter)
        size = page_size(request.page_size)
        after = decode_time_key(request.page_token)
        with self.db.read() as conn:
            records = cluster_store.list_in_folder(conn, request.folder_id, size + 1, after, name)
        page = records[:size]
        token = encode_time_key(page[-1].created_at, page[-1].id) if len(records) > size else ""
        return service_pb.ListClustersResponse(
            clusters=[self._with_health(record) for record in page], next_page_token=token
        )

    def list_hosts(
        self, request: service_pb.ListClusterHostsRequest, caller: Caller
    ) -> service_pb.ListClusterHostsResponse:
        plan = self._plan(self._cluster(request.cluster_id, caller, Permission.READ))
        hosts, token = page_of(host_protos(plan, probe_cluster(plan)), request.page_size, request.page_token)
        return service_pb.ListClusterHostsResponse(hosts=hosts, next_page_token=token)

    def list_shards(
        self, request: service_pb.ListClusterShardsRequest, caller: Caller
    ) -> service_pb.ListClusterShardsResponse:
        record = self._cluster(request.cluster_id, caller, Permission.READ)
        with self.db.read() as conn:
            shards = cluster_store.list_shards(conn, record.id)
        page, token = page_of(shards, request.page_size, request.page_token)
        return service_pb.ListClusterShardsResponse(
            shards=[cluster_pb2.Shard(name=s.name, cluster_id=record.id) for s in page], next_page_token=token
        )

    def get_shard(self, request: service_pb.GetClusterShardRequest, caller: Caller) -> cluster_pb2.Shard:
        record = self._cluster(request.cluster_id, caller, Permission.READ)
        with self.db.read() as conn:
            names = {s.name for s in cluster_store.list_shards(conn, record.id)}
        if request.shard_name not in names:
            raise NotFound(f"cluster {record.id} has no shard {request.shard_name!r}")
        return cluster_pb2.Shard(name=request.shard_name, cluster_id=record.id)

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

    # -- create -------------------------------------------------------------------------------

    def create(self, request: service_pb.CreateClusterRequest, caller: Caller) -> operation_pb2.Operation:
        caller.authenticated.require(request.folder_id, Permission.MUTATE)
        if request.sharded:
            raise Unimplemented("sharded clusters (Redis Cluster) are not available on this server yet")
        if request.user_specs:
            raise Unimplemented("user_specs: Redis users are not available on this server yet")
        spec = normalized_config_spec(request.config_spec)
        version, problems = resolve_version(spec.version, self.deps.versions, "config_spec.version")
        problems += check_config_spec(spec, version, request.sharded)
        problems += check_password(spec.redis.password, "config_spec.redis.password", required=True)
        problems += check_host_specs(request.host_specs, request.tls_enabled.value, request.sharded)
        raise_if_any(problems)
        assert version is not None
        spec.version = version.id
        password = spec.redis.password
        declared = _declared_cluster(request)
        cluster_id = ids.new_id()
        secrets = self.deps.vault.seal({"password": password, "admin_password": ids.new_token()})
        stripped = service_pb.CreateClusterRequest()
        stripped.CopyFrom(request)
        stripped.config_spec.CopyFrom(spec)
        stripped.config_spec.redis.password = ""

        def prepare(conn: Connection) -> Submission:
            now = self.queue.clock.now()
            if cluster_store.list_in_folder(conn, request.folder_id, 1, None, request.name):
                raise AlreadyExists(f"a cluster named {request.name!r} already exists in folder {request.folder_id}")
            record = ClusterRecord(
                id=cluster_id,
                folder_id=request.folder_id,
                name=request.name,
                status="CREATING",
                created_at=now,
                sharded=False,
                spec=spec_json(declared, spec),
                secrets=secrets,
            )
            cluster_store.insert(conn, record)
            cluster_store.insert_shard(conn, ShardRecord(cluster_id, DEFAULT_SHARD, now))
            addresses = allocate(
                self.deps.settings.host_network, cluster_store.used_addresses(conn), len(request.host_specs)
            )
            for host_spec, address in zip(request.host_specs, addresses, strict=True):
                cluster_store.insert_host(conn, _host_record(cluster_id, DEFAULT_SHARD, host_spec, address, now))
            return Submission(
                kind="cluster.create",
                description="Create Redis cluster",
                folder_id=request.folder_id,
                cluster_id=cluster_id,
                request=stripped,
                metadata=service_pb.CreateClusterMetadata(cluster_id=cluster_id),
                created_cluster=True,
            )

        try:
            return self._submit(caller, "cluster.create", stripped, prepare)
        except IntegrityError:
            raise AlreadyExists(
                f"a cluster named {request.name!r} already exists in folder {request.folder_id}"
            ) from None


def _declared_cluster(
    request: service_pb.CreateClusterRequest | service_pb.RestoreClusterRequest,
) -> cluster_pb2.Cluster:
    declared = cluster_pb2.Cluster(
        description=request.description,
        labels=dict(request.labels),
        environment=request.environment,
        network_id=request.network_id,
        security_group_ids=list(request.security_group_ids),
        tls_enabled=request.tls_enabled.value,
        deletion_protection=request.deletion_protection,
        persistence_mode=request.persistence_mode,
        announce_hostnames=request.announce_hostnames,
        auth_sentinel=request.auth_sentinel,
    )
    if request.HasField("maintenance_window"):
        declared.maintenance_window.CopyFrom(request.maintenance_window)
    else:
        declared.maintenance_window.CopyFrom(
            maintenance_pb2.MaintenanceWindow(anytime=maintenance_pb2.AnytimeMaintenanceWindow())
        )
    if request.HasField("maintenance_windows"):
        declared.maintenance_windows.CopyFrom(request.maintenance_windows)
    if request.HasField("disk_encryption_key_id"):
        declared.disk_encryption_key_id.CopyFrom(request.disk_encryption_key_id)
    return declared


def _host_record(cluster_id: str, shard_name: str, spec: service_pb.HostSpec, address: str, now: object) -> HostRecord:
    return HostRecord(
        name=address,
        cluster_id=cluster_id,
        shard_name=shard_name,
        zone_id=spec.zone_id,
        address=address,
        state="ACTIVE",
        created_at=now,  # type: ignore[arg-type]
        subnet_id=spec.subnet_id,
        replica_priority=spec.replica_priority.value if spec.HasField("replica_priority") else None,
        assign_public_ip=spec.assign_public_ip,
    )
