"""ClusterService: clusters, their hosts and shards, and every change to them.

Reads come from the store, with health and roles read live from the processes. Changes
are checked here (rights, request, state) and submitted as operations; the handlers in
``operations/handlers`` carry them out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from google.protobuf.message import Message
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from yandex.cloud.access import access_pb2
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.operation import operation_pb2

from managed_redis.catalog.versions import updatable_to
from managed_redis.domain.cluster_spec import declared_of
from managed_redis.domain.cluster_view import cluster_proto
from managed_redis.domain.topology import DEFAULT_SHARD, MAX_HOSTS_NON_SHARDED
from managed_redis.engine.addresses import allocate
from managed_redis.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from managed_redis.operations.deps import Deps
from managed_redis.operations.health import cluster_health, probe_cluster
from managed_redis.operations.plans import ClusterPlan
from managed_redis.operations.submit import OperationQueue, Submission, Submitter
from managed_redis.services import new_clusters
from managed_redis.services.access import ROLE_PERMISSIONS, Permission
from managed_redis.services.backups import list_page
from managed_redis.services.cluster_access import load_cluster
from managed_redis.services.cluster_checks import (
    check_config_spec,
    check_host_specs,
    check_password,
    normalized_config_spec,
    raise_if_any,
    resolve_version,
)
from managed_redis.services.cluster_update import PASSWORD_PATH, plan_update
from managed_redis.services.context import Caller
from managed_redis.services.host_view import host_protos
from managed_redis.services.list_filter import parse_name_filter
from managed_redis.services.operation_view import operation_proto
from managed_redis.services.pagination import decode_time_key, encode_time_key, page_of, page_size
from managed_redis.store import access as access_store
from managed_redis.store import backups as backup_store
from managed_redis.store import clusters as cluster_store
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord
from managed_redis.store.database import Database

Status = cluster_pb2.Cluster.Status


class ClusterService:
    def __init__(self, db: Database, queue: OperationQueue, deps: Deps) -> None:
        self.db = db
        self.queue = queue
        self.deps = deps

    # -- helpers ------------------------------------------------------------------------------

    def _cluster(self, cluster_id: str, caller: Caller, permission: Permission) -> ClusterRecord:
        return load_cluster(self.db, cluster_id, caller, permission)

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

    def list_backups(
        self, request: service_pb.ListClusterBackupsRequest, caller: Caller
    ) -> service_pb.ListClusterBackupsResponse:
        record = self._cluster(request.cluster_id, caller, Permission.READ)
        backups, token = list_page(self.db, request.page_size, request.page_token, cluster_id=record.id)
        return service_pb.ListClusterBackupsResponse(backups=backups, next_page_token=token)

    def backup(self, request: service_pb.BackupClusterRequest, caller: Caller) -> operation_pb2.Operation:
        self._changeable(request.cluster_id, caller, "backing it up")
        return self._change(
            caller,
            request.cluster_id,
            "cluster.backup",
            "Create backup for Redis cluster",
            request,
            service_pb.BackupClusterMetadata(cluster_id=request.cluster_id),
            doing="backing it up",
            new_status=None,
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

    # -- create -------------------------------------------------------------------------------

    def create(self, request: service_pb.CreateClusterRequest, caller: Caller) -> operation_pb2.Operation:
        caller.authenticated.require(request.folder_id, Permission.MUTATE)
        spec = normalized_config_spec(request.config_spec)
        new = new_clusters.check(request, request.folder_id, spec, self.deps.versions)
        stripped = service_pb.CreateClusterRequest()
        stripped.CopyFrom(request)
        stripped.config_spec.CopyFrom(new.spec)
        stripped.config_spec.redis.password = ""
        return self._submit_new_cluster(
            caller,
            new,
            "cluster.create",
            "Create Redis cluster",
            stripped,
            service_pb.CreateClusterMetadata(cluster_id=new.cluster_id),
        )

    def restore(self, request: service_pb.RestoreClusterRequest, caller: Caller) -> operation_pb2.Operation:
        principal = caller.authenticated
        with self.db.read() as conn:
            backup = backup_store.get(conn, request.backup_id)
        if backup is None or backup.status != backup_store.DONE:
            raise NotFound(f"backup {request.backup_id} does not exist")
        principal.require(backup.folder_id, Permission.RESTORE)
        folder_id = request.folder_id or backup.folder_id
        principal.require(folder_id, Permission.RESTORE)
        if backup.source.get("sharded") != request.sharded:
            raise InvalidArgument.field(
                "sharded",
                f"backup {backup.id} is of a {'sharded' if backup.source.get('sharded') else 'non-sharded'} "
                "cluster; restore it as one",
            )
        spec = restore_config_spec(request.config_spec, backup.source.get("config_spec", {}))
        new = new_clusters.check(request, folder_id, spec, self.deps.versions)
        stripped = service_pb.RestoreClusterRequest()
        stripped.CopyFrom(request)
        stripped.folder_id = folder_id
        stripped.config_spec.CopyFrom(new.spec)
        stripped.config_spec.redis.password = ""
        return self._submit_new_cluster(
            caller,
            new,
            "cluster.restore",
            "Restore Redis cluster",
            stripped,
            service_pb.RestoreClusterMetadata(cluster_id=new.cluster_id, backup_id=backup.id),
        )

    def _submit_new_cluster(
        self,
        caller: Caller,
        new: new_clusters.NewCluster,
        kind: str,
        description: str,
        stripped: Message,
        metadata: Message,
    ) -> operation_pb2.Operation:
        def prepare(conn: Connection) -> Submission:
            new_clusters.insert(conn, self.deps, new, self.queue.clock.now())
            return Submission(
                kind=kind,
                description=description,
                folder_id=new.folder_id,
                cluster_id=new.cluster_id,
                request=stripped,
                metadata=metadata,
                created_cluster=True,
            )

        try:
            return self._submit(caller, kind, stripped, prepare)
        except IntegrityError:
            raise AlreadyExists(f"a cluster named {new.name!r} already exists in folder {new.folder_id}") from None

    # -- changes --------------------------------------------------------------------------------

    def _changeable(
        self, cluster_id: str, caller: Caller, doing: str, allowed: tuple[str, ...] = ("RUNNING",)
    ) -> ClusterRecord:
        """The cluster, if the caller may change it and its status allows ``doing``."""
        record = self._cluster(cluster_id, caller, Permission.MUTATE)
        _require_status(record, allowed, doing)
        return record

    def _change(
        self,
        caller: Caller,
        cluster_id: str,
        kind: str,
        description: str,
        request: Message,
        metadata: Message,
        *,
        allowed: tuple[str, ...] = ("RUNNING",),
        doing: str,
        new_status: str | None = "UPDATING",
        handler_request: Message | None = None,
        check: Callable[[Connection, ClusterRecord], None] | None = None,
    ) -> operation_pb2.Operation:
        """Submit an operation on one cluster, checking its status again inside the transaction.

        Callers check the caller's rights first (``_changeable``)."""

        def prepare(conn: Connection) -> Submission:
            current = cluster_store.get(conn, cluster_id)
            if current is None:
                raise NotFound(f"cluster {cluster_id} does not exist")
            _require_status(current, allowed, doing)
            if check is not None:
                check(conn, current)
            if new_status is not None:
                cluster_store.update(conn, cluster_id, status=new_status)
            return Submission(
                kind=kind,
                description=description,
                folder_id=current.folder_id,
                cluster_id=cluster_id,
                request=handler_request or request,
                metadata=metadata,
                status_before=current.status,
            )

        return self._submit(caller, kind, handler_request or request, prepare)

    def delete(self, request: service_pb.DeleteClusterRequest, caller: Caller) -> operation_pb2.Operation:
        self._changeable(request.cluster_id, caller, "deleting it", ("RUNNING", "STOPPED", "ERROR"))

        def check(conn: Connection, record: ClusterRecord) -> None:
            if declared_of(record).deletion_protection:
                raise FailedPrecondition("The operation was rejected because cluster has 'deletion_protection' = ON")

        return self._change(
            caller,
            request.cluster_id,
            "cluster.delete",
            "Delete Redis cluster",
            request,
            service_pb.DeleteClusterMetadata(cluster_id=request.cluster_id),
            allowed=("RUNNING", "STOPPED", "ERROR"),
            doing="deleting it",
            new_status=None,
            check=check,
        )

    def stop(self, request: service_pb.StopClusterRequest, caller: Caller) -> operation_pb2.Operation:
        self._changeable(request.cluster_id, caller, "stopping it")
        return self._change(
            caller,
            request.cluster_id,
            "cluster.stop",
            "Stop Redis cluster",
            request,
            service_pb.StopClusterMetadata(cluster_id=request.cluster_id),
            doing="stopping it",
            new_status="STOPPING",
        )

    def start(self, request: service_pb.StartClusterRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._cluster(request.cluster_id, caller, Permission.MUTATE)
        if record.status != "STOPPED":
            raise FailedPrecondition(f"cluster {record.id} is {record.status}; only a STOPPED cluster can be started")
        return self._change(
            caller,
            request.cluster_id,
            "cluster.start",
            "Start Redis cluster",
            request,
            service_pb.StartClusterMetadata(cluster_id=request.cluster_id),
            allowed=("STOPPED",),
            doing="starting it",
            new_status="STARTING",
        )

    def move(self, request: service_pb.MoveClusterRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, "moving it", ("RUNNING", "STOPPED"))
        caller.authenticated.require(request.destination_folder_id, Permission.MUTATE)
        if request.destination_folder_id == record.folder_id:
            raise FailedPrecondition(f"cluster {record.id} is already in folder {record.folder_id}")

        def check(conn: Connection, current: ClusterRecord) -> None:
            if cluster_store.list_in_folder(conn, request.destination_folder_id, 1, None, current.name):
                raise AlreadyExists(
                    f"folder {request.destination_folder_id} already has a cluster named {current.name!r}"
                )

        return self._change(
            caller,
            request.cluster_id,
            "cluster.move",
            "Move Redis cluster",
            request,
            service_pb.MoveClusterMetadata(
                cluster_id=record.id,
                source_folder_id=record.folder_id,
                destination_folder_id=request.destination_folder_id,
            ),
            allowed=("RUNNING", "STOPPED"),
            doing="moving it",
            new_status=None,
            check=check,
        )

    def update(self, request: service_pb.UpdateClusterRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, "changing it")
        update = plan_update(record, request)
        state = update.state
        plan = self._plan(record)
        if update.password and update.password == plan.credentials.password:
            raise FailedPrecondition("no changes detected")
        version, problems = resolve_version(state.config_spec.version, self.deps.versions, "config_spec.version")
        if version is not None and version.id != plan.version.id:
            allowed = updatable_to(plan.version, self.deps.versions)
            if version.id not in allowed:
                problems.append(
                    FieldViolation(
                        "config_spec.version",
                        f"cannot go from {plan.version.id} to {version.id}; possible: {', '.join(allowed) or 'none'}",
                    )
                )
        problems += check_config_spec(state.config_spec, version, record.sharded)
        problems += check_password(update.password, PASSWORD_PATH, required=False)
        raise_if_any(problems)

        def check(conn: Connection, current: ClusterRecord) -> None:
            if state.name != current.name and cluster_store.list_in_folder(
                conn, current.folder_id, 1, None, state.name
            ):
                raise AlreadyExists(f"a cluster named {state.name!r} already exists in folder {current.folder_id}")
            if update.password:
                secrets = self.deps.vault.open_sealed(current.secrets or b"")
                secrets["pending_password"] = update.password
                cluster_store.update(conn, current.id, secrets=self.deps.vault.seal(secrets))

        return self._change(
            caller,
            record.id,
            "cluster.update",
            "Modify Redis cluster",
            request,
            service_pb.UpdateClusterMetadata(cluster_id=record.id),
            doing="changing it",
            handler_request=state,
            check=check,
        )

    def start_failover(
        self, request: service_pb.StartClusterFailoverRequest, caller: Caller
    ) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, "switching its master")
        plan = self._plan(record)
        known = {host.name for host in plan.hosts}
        unknown = [name for name in request.host_names if name not in known]
        if unknown:
            raise InvalidArgument.field("host_names", f"not hosts of cluster {record.id}: {', '.join(unknown)}")
        kind = request.failover_type
        if kind == service_pb.StartClusterFailoverRequest.SWITCH_FROM_ZONE and not request.zone_id:
            raise InvalidArgument.field("zone_id", "required for SWITCH_FROM_ZONE")
        if (
            kind
            in (
                service_pb.StartClusterFailoverRequest.SWITCH_TO_HOSTNAMES,
                service_pb.StartClusterFailoverRequest.SWITCH_FROM_HOSTNAMES,
            )
            and not request.host_names
        ):
            raise InvalidArgument.field("host_names", "required for this failover_type")
        if len(plan.hosts) < 2:
            raise FailedPrecondition(f"cluster {record.id} has one host; there is no replica to switch to")
        return self._change(
            caller,
            record.id,
            "cluster.failover",
            "Start manual failover on Redis cluster",
            request,
            service_pb.StartClusterFailoverMetadata(
                cluster_id=record.id, host_names=list(request.host_names), zone_id=request.zone_id
            ),
            doing="switching its master",
        )

    # -- hosts --------------------------------------------------------------------------------

    def add_hosts(self, request: service_pb.AddClusterHostsRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, "adding hosts")
        declared = declared_of(record)
        raise_if_any(check_host_specs(request.host_specs, declared.tls_enabled, record.sharded))
        metadata = service_pb.AddClusterHostsMetadata(cluster_id=record.id)

        def check(conn: Connection, current: ClusterRecord) -> None:
            hosts = cluster_store.list_hosts(conn, current.id)
            total = len(hosts) + len(request.host_specs)
            if total > MAX_HOSTS_NON_SHARDED:
                raise FailedPrecondition(
                    f"cluster {current.id} would have {total} hosts; a cluster has at most {MAX_HOSTS_NON_SHARDED}"
                )
            now = self.queue.clock.now()
            addresses = allocate(
                self.deps.settings.host_network, cluster_store.used_addresses(conn), len(request.host_specs)
            )
            for spec, address in zip(request.host_specs, addresses, strict=True):
                host = new_clusters.host_record(current.id, DEFAULT_SHARD, spec, address, now)
                host.state = "ADDING"
                cluster_store.insert_host(conn, host)
                metadata.host_names.append(host.name)

        return self._change(
            caller,
            record.id,
            "cluster.add_hosts",
            "Add hosts to Redis cluster",
            request,
            metadata,
            doing="adding hosts",
            check=check,
        )

    def delete_hosts(self, request: service_pb.DeleteClusterHostsRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, "deleting hosts")

        def check(conn: Connection, current: ClusterRecord) -> None:
            hosts = {host.name: host for host in cluster_store.list_hosts(conn, current.id)}
            unknown = [name for name in request.host_names if name not in hosts]
            if unknown:
                raise NotFound(f"cluster {current.id} has no hosts {', '.join(unknown)}")
            if len(set(request.host_names)) >= len(hosts):
                raise FailedPrecondition(f"cluster {current.id} must keep at least one host")
            for name in set(request.host_names):
                cluster_store.update_host(conn, name, state="REMOVING")

        return self._change(
            caller,
            record.id,
            "cluster.delete_hosts",
            "Delete hosts from Redis cluster",
            request,
            service_pb.DeleteClusterHostsMetadata(cluster_id=record.id, host_names=list(request.host_names)),
            doing="deleting hosts",
            check=check,
        )

    def update_hosts(self, request: service_pb.UpdateClusterHostsRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, "changing hosts")
        plan = self._plan(record)
        known = {host.name for host in plan.hosts}
        problems = []
        for index, spec in enumerate(request.update_host_specs):
            path = f"update_host_specs[{index}]"
            if spec.host_name not in known:
                problems.append(FieldViolation(f"{path}.host_name", f"not a host of cluster {record.id}"))
            unknown = set(spec.update_mask.paths) - {"replica_priority", "assign_public_ip"}
            if unknown:
                problems.append(FieldViolation(f"{path}.update_mask", f"unknown paths: {', '.join(sorted(unknown))}"))
            if spec.assign_public_ip and not plan.tls_enabled:
                problems.append(
                    FieldViolation(f"{path}.assign_public_ip", "a public address needs a TLS cluster (tls_enabled)")
                )
            if spec.HasField("replica_priority") and spec.replica_priority.value < 0:
                problems.append(FieldViolation(f"{path}.replica_priority", "must be >=0"))
        raise_if_any(problems)
        return self._change(
            caller,
            record.id,
            "cluster.update_hosts",
            "Modify hosts in Redis cluster",
            request,
            service_pb.UpdateClusterHostsMetadata(
                cluster_id=record.id, host_names=[spec.host_name for spec in request.update_host_specs]
            ),
            doing="changing hosts",
        )

    # -- access bindings ------------------------------------------------------------------------

    def list_access_bindings(
        self, request: access_pb2.ListAccessBindingsRequest, caller: Caller
    ) -> access_pb2.ListAccessBindingsResponse:
        record = self._cluster(request.resource_id, caller, Permission.READ)
        with self.db.read() as conn:
            bindings = access_store.list_bindings(conn, record.id)
        page, token = page_of(bindings, request.page_size, request.page_token)
        return access_pb2.ListAccessBindingsResponse(
            access_bindings=[
                access_pb2.AccessBinding(
                    role_id=b.role_id, subject=access_pb2.Subject(id=b.subject_id, type=b.subject_type)
                )
                for b in page
            ],
            next_page_token=token,
        )

    def _change_access(
        self,
        caller: Caller,
        resource_id: str,
        kind: str,
        request: Message,
        bindings: Sequence[access_pb2.AccessBinding],
        path: str,
    ) -> operation_pb2.Operation:
        record = self._cluster(resource_id, caller, Permission.MANAGE_ACCESS)
        known = ", ".join(ROLE_PERMISSIONS)
        problems: list[FieldViolation] = []
        for index, binding in enumerate(bindings):
            if binding.role_id not in ROLE_PERMISSIONS:
                problems.append(FieldViolation(f"{path}[{index}].role_id", f"unknown role; known: {known}"))
            if not binding.subject.id:
                problems.append(FieldViolation(f"{path}[{index}].subject.id", "required"))
        raise_if_any(problems)
        metadata_type = (
            access_pb2.SetAccessBindingsMetadata
            if kind.endswith("set_access_bindings")
            else (access_pb2.UpdateAccessBindingsMetadata)
        )

        def prepare(conn: Connection) -> Submission:
            return Submission(
                kind=kind,
                description="Change access bindings of Redis cluster",
                folder_id=record.folder_id,
                cluster_id=record.id,
                request=request,
                metadata=metadata_type(resource_id=record.id),
                locks_cluster=False,
            )

        return self._submit(caller, kind, request, prepare)

    def set_access_bindings(
        self, request: access_pb2.SetAccessBindingsRequest, caller: Caller
    ) -> operation_pb2.Operation:
        return self._change_access(
            caller,
            request.resource_id,
            "cluster.set_access_bindings",
            request,
            list(request.access_bindings),
            "access_bindings",
        )

    def update_access_bindings(
        self, request: access_pb2.UpdateAccessBindingsRequest, caller: Caller
    ) -> operation_pb2.Operation:
        return self._change_access(
            caller,
            request.resource_id,
            "cluster.update_access_bindings",
            request,
            [delta.access_binding for delta in request.access_binding_deltas],
            "access_binding_deltas",
        )


def _require_status(record: ClusterRecord, allowed: tuple[str, ...], doing: str) -> None:
    if record.status in allowed:
        return
    if record.status == "STOPPED":
        raise FailedPrecondition(f"cluster {record.id} is STOPPED; start it before {doing}")
    raise FailedPrecondition(f"cluster {record.id} is {record.status}; {doing} needs it {' or '.join(allowed)}")


def restore_config_spec(requested: service_pb.ConfigSpec, source: dict[str, object]) -> service_pb.ConfigSpec:
    """The request's config, falling back on the backup's version and resources when left out."""
    from google.protobuf import json_format

    spec = normalized_config_spec(requested)
    fallback = json_format.ParseDict(source, service_pb.ConfigSpec())
    if not spec.version:
        spec.version = fallback.version
    if not spec.resources.resource_preset_id:
        spec.resources.CopyFrom(fallback.resources)
    return spec
