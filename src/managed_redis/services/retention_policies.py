"""BackupRetentionPolicyService: keep backups taken on matching days for longer."""

from __future__ import annotations

from sqlalchemy.engine import Connection
from yandex.cloud.mdb.redis.v1 import backup_retention_policy_service_pb2 as service_pb
from yandex.cloud.mdb.v1 import backup_retention_policy_pb2 as policy_pb
from yandex.cloud.operation import operation_pb2

from managed_redis import ids
from managed_redis.domain.cron import CronError, values
from managed_redis.errors import FieldViolation, NotFound
from managed_redis.operations import registry
from managed_redis.operations.handlers.retention import policy_proto
from managed_redis.operations.submit import OperationQueue, Submission
from managed_redis.services.access import Permission
from managed_redis.services.cluster_access import load_cluster
from managed_redis.services.cluster_checks import raise_if_any, require_folder_id
from managed_redis.services.context import Caller
from managed_redis.services.pagination import page_of
from managed_redis.services.submitting import submit_operation
from managed_redis.store import backups as backup_store
from managed_redis.store.backups import RetentionPolicyRecord
from managed_redis.store.database import Database

RETAIN_DAYS = (7, 1095)
# The descriptor bounds neither; a policy name is held to a cluster name's length and a
# description to a cluster description's (api.md §3.1).
POLICY_NAME_LENGTH = 63
DESCRIPTION_LENGTH = 256


class BackupRetentionPolicyService:
    def __init__(self, db: Database, queue: OperationQueue) -> None:
        self.db = db
        self.queue = queue

    def _policy(self, cluster_id: str, policy_id: str, caller: Caller, permission: Permission) -> RetentionPolicyRecord:
        load_cluster(self.db, cluster_id, caller, permission)
        with self.db.read() as conn:
            policy = backup_store.get_policy(conn, policy_id)
        if policy is None or policy.cluster_id != cluster_id:
            raise NotFound(f"cluster {cluster_id} has no retention policy {policy_id}")
        return policy

    def get(
        self, request: service_pb.GetBackupRetentionPolicyRequest, caller: Caller
    ) -> policy_pb.BackupRetentionPolicy:
        return policy_proto(self._policy(request.cluster_id, request.policy_id, caller, Permission.READ))

    def list(
        self, request: service_pb.ListBackupRetentionPoliciesRequest, caller: Caller
    ) -> service_pb.ListBackupRetentionPoliciesResponse:
        load_cluster(self.db, request.cluster_id, caller, Permission.READ)
        with self.db.read() as conn:
            policies = backup_store.list_policies(conn, cluster_id=request.cluster_id)
        page, token = page_of(policies, request.page_size, request.page_token)
        return service_pb.ListBackupRetentionPoliciesResponse(
            policies=[policy_proto(p) for p in page], next_page_token=token
        )

    def list_by_folder(
        self, request: service_pb.ListBackupRetentionPoliciesByFolderRequest, caller: Caller
    ) -> service_pb.ListBackupRetentionPoliciesResponse:
        require_folder_id(request.folder_id)
        caller.authenticated.require(request.folder_id, Permission.READ)
        with self.db.read() as conn:
            policies = backup_store.list_policies(conn, folder_id=request.folder_id)
        page, token = page_of(policies, request.page_size, request.page_token)
        return service_pb.ListBackupRetentionPoliciesResponse(
            policies=[policy_proto(p) for p in page], next_page_token=token
        )

    def create(self, request: service_pb.CreateBackupRetentionPolicyRequest, caller: Caller) -> operation_pb2.Operation:
        cluster = load_cluster(self.db, request.cluster_id, caller, Permission.MUTATE)
        problems = []
        low, high = RETAIN_DAYS
        if not low <= request.retain_for_days <= high:
            problems.append(FieldViolation("retain_for_days", f"must be in {low}-{high}"))
        if len(request.policy_name) > POLICY_NAME_LENGTH:
            problems.append(FieldViolation("policy_name", f"length must be <={POLICY_NAME_LENGTH}"))
        if len(request.description) > DESCRIPTION_LENGTH:
            problems.append(FieldViolation("description", f"length must be <={DESCRIPTION_LENGTH}"))
        for field in ("minute", "hour", "day_of_month", "month", "day_of_week"):
            try:
                values(field, getattr(request.cron, field))
            except CronError as exc:
                problems.append(FieldViolation(f"cron.{field}", str(exc).split(": ", 1)[1]))
        raise_if_any(problems)
        policy_id = ids.new_id()

        def prepare(conn: Connection) -> Submission:
            return Submission.of(
                registry.CREATE_RETENTION_POLICY,
                request,
                policy_pb.CreateBackupRetentionPolicyMetadata(cluster_id=cluster.id, policy_id=policy_id),
                folder_id=cluster.folder_id,
                cluster_id=cluster.id,
            )

        return submit_operation(self.queue, caller, registry.CREATE_RETENTION_POLICY, request, prepare)

    def delete(self, request: service_pb.DeleteBackupRetentionPolicyRequest, caller: Caller) -> operation_pb2.Operation:
        policy = self._policy(request.cluster_id, request.policy_id, caller, Permission.MUTATE)

        def prepare(conn: Connection) -> Submission:
            return Submission.of(
                registry.DELETE_RETENTION_POLICY,
                request,
                policy_pb.DeleteBackupRetentionPolicyMetadata(cluster_id=policy.cluster_id, policy_id=policy.id),
                folder_id=policy.folder_id,
                cluster_id=policy.cluster_id,
            )

        return submit_operation(self.queue, caller, registry.DELETE_RETENTION_POLICY, request, prepare)
