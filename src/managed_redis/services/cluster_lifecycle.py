"""ClusterService changes to whole clusters: create, restore, update, stop, start, move,
backup, delete.
"""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.operation import operation_pb2

from managed_redis.domain.cluster_spec import declared_of
from managed_redis.domain.update_masks import PASSWORD_PATH
from managed_redis.domain.users import without_passwords
from managed_redis.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from managed_redis.operations import registry
from managed_redis.operations.kinds import OperationKind
from managed_redis.operations.submit import Submission, conflicting_operation
from managed_redis.services import new_clusters
from managed_redis.services.access import Permission
from managed_redis.services.capacity import admit_preset_change
from managed_redis.services.cluster_base import ClusterServiceBase, change_of, require_status
from managed_redis.services.cluster_checks import (
    check_cloud_id,
    check_cluster_fields,
    check_config_spec,
    check_password,
    check_tls_support,
    check_version_change,
    normalized_config_spec,
    raise_if_any,
)
from managed_redis.services.cluster_update import plan_update
from managed_redis.services.context import Caller
from managed_redis.services.submitting import submit_operation
from managed_redis.statuses import BackupStatus, ClusterStatus
from managed_redis.store import backups as backup_store
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import ClusterRecord

RequestT = TypeVar("RequestT", bound=Message)
MetadataT = TypeVar("MetadataT", bound=Message)


class ClusterLifecycle(ClusterServiceBase):
    def create(self, request: service_pb.CreateClusterRequest, caller: Caller) -> operation_pb2.Operation:
        caller.authenticated.require(request.folder_id, Permission.MUTATE)
        spec = normalized_config_spec(request.config_spec)
        new = new_clusters.check(
            request, request.folder_id, spec, self.deps.versions, default_version=self.deps.settings.default_version
        )
        stripped = service_pb.CreateClusterRequest()
        stripped.CopyFrom(request)
        stripped.config_spec.CopyFrom(new.spec)
        stripped.config_spec.redis.password = ""
        without_passwords(stripped.user_specs)
        return self._submit_new_cluster(
            caller, new, registry.CREATE_CLUSTER, stripped, service_pb.CreateClusterMetadata(cluster_id=new.cluster_id)
        )

    def restore(self, request: service_pb.RestoreClusterRequest, caller: Caller) -> operation_pb2.Operation:
        principal = caller.authenticated
        with self.db.read() as conn:
            backup = backup_store.get(conn, request.backup_id)
        if backup is None or backup.status != BackupStatus.DONE:
            raise NotFound(f"backup {request.backup_id} does not exist")
        principal.require_on(f"backup {backup.id}", backup.folder_id, Permission.RESTORE)
        folder_id = request.folder_id or backup.folder_id
        principal.require(folder_id, Permission.RESTORE)
        if backup.source.get("sharded") != request.sharded:
            raise InvalidArgument.field(
                "sharded",
                f"backup {backup.id} is of a {'sharded' if backup.source.get('sharded') else 'non-sharded'} "
                "cluster; restore it as one",
            )
        spec = restore_config_spec(request.config_spec, backup.source.get("config_spec", {}))
        shard_count = len(backup.shard_names) if request.sharded else None
        new = new_clusters.check(
            request, folder_id, spec, self.deps.versions, shard_count, self.deps.settings.default_version
        )
        stripped = service_pb.RestoreClusterRequest()
        stripped.CopyFrom(request)
        stripped.folder_id = folder_id
        stripped.config_spec.CopyFrom(new.spec)
        stripped.config_spec.redis.password = ""
        without_passwords(stripped.user_specs)
        return self._submit_new_cluster(
            caller,
            new,
            registry.RESTORE_CLUSTER,
            stripped,
            service_pb.RestoreClusterMetadata(cluster_id=new.cluster_id, backup_id=backup.id),
        )

    def _submit_new_cluster(
        self,
        caller: Caller,
        new: new_clusters.NewCluster,
        kind: OperationKind[RequestT, MetadataT, Any],
        stripped: RequestT,
        metadata: MetadataT,
    ) -> operation_pb2.Operation:
        """Submit ``kind`` with the rows of the ``new`` cluster; AlreadyExists for a taken name."""

        def prepare(conn: Connection) -> Submission:
            new_clusters.insert(conn, self.deps, new, self.queue.clock.now())
            return Submission.of(
                kind, stripped, metadata, folder_id=new.folder_id, cluster_id=new.cluster_id, created_cluster=True
            )

        try:
            return submit_operation(self.queue, caller, kind, stripped, prepare)
        except IntegrityError:
            raise AlreadyExists(f"a cluster named {new.name!r} already exists in folder {new.folder_id}") from None

    def delete(self, request: service_pb.DeleteClusterRequest, caller: Caller) -> operation_pb2.Operation:
        self._changeable(request.cluster_id, caller, registry.DELETE_CLUSTER)

        def check(conn: Connection, record: ClusterRecord) -> None:
            if declared_of(record).deletion_protection:
                raise FailedPrecondition("The operation was rejected because cluster has 'deletion_protection' = ON")

        return self._change(
            caller,
            request.cluster_id,
            registry.DELETE_CLUSTER,
            request,
            service_pb.DeleteClusterMetadata(cluster_id=request.cluster_id),
            check=check,
        )

    def stop(self, request: service_pb.StopClusterRequest, caller: Caller) -> operation_pb2.Operation:
        self._changeable(request.cluster_id, caller, registry.STOP_CLUSTER)
        return self._change(
            caller,
            request.cluster_id,
            registry.STOP_CLUSTER,
            request,
            service_pb.StopClusterMetadata(cluster_id=request.cluster_id),
        )

    def start(self, request: service_pb.StartClusterRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._cluster(request.cluster_id, caller, Permission.MUTATE)
        if record.active_operation_id is not None:
            raise conflicting_operation(record.id, record.active_operation_id)
        if record.status != ClusterStatus.STOPPED:
            raise FailedPrecondition(f"cluster {record.id} is {record.status}; only a STOPPED cluster can be started")
        return self._change(
            caller,
            request.cluster_id,
            registry.START_CLUSTER,
            request,
            service_pb.StartClusterMetadata(cluster_id=request.cluster_id),
        )

    def move(self, request: service_pb.MoveClusterRequest, caller: Caller) -> operation_pb2.Operation:
        """Move needs ``managed-redis.editor`` (or stronger) granted on both folders: on the
        source folder itself, since a role bound on the cluster must not let its holder take
        the cluster away from the folder's admins, and on the destination folder."""
        raise_if_any(check_cloud_id(request.destination_folder_id, "destination_folder_id", required=True))
        record = self._cluster(request.cluster_id, caller, Permission.MUTATE)
        principal = caller.authenticated
        if not principal.can(record.folder_id, Permission.MUTATE):
            raise PermissionDenied(
                f"permission denied: moving cluster {record.id} out of its folder {record.folder_id} needs role "
                f"managed-redis.editor or stronger on that folder; a role bound on the cluster is not enough"
            )
        principal.require(request.destination_folder_id, Permission.MUTATE)
        require_status(record, change_of(registry.MOVE_CLUSTER))
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
            registry.MOVE_CLUSTER,
            request,
            service_pb.MoveClusterMetadata(
                cluster_id=record.id,
                source_folder_id=record.folder_id,
                destination_folder_id=request.destination_folder_id,
            ),
            check=check,
        )

    def update(self, request: service_pb.UpdateClusterRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, registry.UPDATE_CLUSTER)
        update = plan_update(record, request)
        state = update.state
        plan = self._loaded(record)
        if update.password and update.password == plan.credentials.password:
            raise FailedPrecondition("no changes detected")
        version, problems = check_version_change(plan.version, state.config_spec.version, self.deps.versions)
        problems += check_tls_support(version, plan.tls_enabled, self.deps.versions)
        redis_field = request.config_spec.WhichOneof("redis_spec") or "redis"
        problems += check_config_spec(
            state.config_spec, version, record.sharded, redis_field=redis_field, versions=self.deps.versions
        )
        problems += check_cluster_fields(state)
        problems += check_password(update.password, PASSWORD_PATH, required=False)
        raise_if_any(problems)

        def check(conn: Connection, current: ClusterRecord) -> None:
            if state.name != current.name and cluster_store.list_in_folder(
                conn, current.folder_id, 1, None, state.name
            ):
                raise AlreadyExists(f"a cluster named {state.name!r} already exists in folder {current.folder_id}")
            admit_preset_change(conn, self.deps.settings, current, state.config_spec.resources.resource_preset_id)
            if update.password:
                secrets = self.deps.vault.open_sealed(current.secrets or b"")
                secrets["pending_password"] = update.password
                cluster_store.update(conn, current.id, secrets=self.deps.vault.seal(secrets))

        return self._change(
            caller,
            record.id,
            registry.UPDATE_CLUSTER,
            request,
            service_pb.UpdateClusterMetadata(cluster_id=record.id),
            handler_request=state,
            check=check,
        )

    def backup(self, request: service_pb.BackupClusterRequest, caller: Caller) -> operation_pb2.Operation:
        self._changeable(request.cluster_id, caller, registry.BACKUP_CLUSTER)
        return self._change(
            caller,
            request.cluster_id,
            registry.BACKUP_CLUSTER,
            request,
            service_pb.BackupClusterMetadata(cluster_id=request.cluster_id),
        )


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
