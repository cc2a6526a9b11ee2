"""BackupService: finished backups by id and by folder, and deleting one."""

from __future__ import annotations

from sqlalchemy.engine import Connection
from yandex.cloud.mdb.redis.v1 import backup_pb2
from yandex.cloud.mdb.redis.v1 import backup_service_pb2 as service_pb
from yandex.cloud.operation import operation_pb2

from managed_redis.errors import NotFound
from managed_redis.operations import registry
from managed_redis.operations.submit import OperationQueue, Submission
from managed_redis.services.access import Permission
from managed_redis.services.backup_view import backup_proto
from managed_redis.services.cluster_checks import require_folder_id
from managed_redis.services.context import Caller
from managed_redis.services.pagination import decode_time_key, encode_time_key, page_size
from managed_redis.services.submitting import submit_operation
from managed_redis.statuses import BackupStatus
from managed_redis.store import backups as backup_store
from managed_redis.store.backups import BackupRecord
from managed_redis.store.database import Database


def list_page(
    db: Database,
    request_page_size: int,
    page_token: str,
    *,
    folder_id: str | None = None,
    cluster_id: str | None = None,
) -> tuple[list[backup_pb2.Backup], str]:
    """A page of finished backups, newest first, and the token of the next page."""
    size = page_size(request_page_size)
    with db.read() as conn:
        records = backup_store.list_done(
            conn, size + 1, decode_time_key(page_token), folder_id=folder_id, cluster_id=cluster_id
        )
    page = records[:size]
    last = page[-1] if page else None
    token = encode_time_key(last.created_at, last.id) if len(records) > size and last and last.created_at else ""
    return [backup_proto(record) for record in page], token


class BackupService:
    def __init__(self, db: Database, queue: OperationQueue) -> None:
        self.db = db
        self.queue = queue

    def _backup(self, backup_id: str, caller: Caller, permission: Permission) -> BackupRecord:
        with self.db.read() as conn:
            record = backup_store.get(conn, backup_id)
        if record is None or record.status != BackupStatus.DONE:
            raise NotFound(f"backup {backup_id} does not exist")
        caller.authenticated.require_on(f"backup {backup_id}", record.folder_id, permission)
        return record

    def get(self, request: service_pb.GetBackupRequest, caller: Caller) -> backup_pb2.Backup:
        return backup_proto(self._backup(request.backup_id, caller, Permission.READ))

    def list(self, request: service_pb.ListBackupsRequest, caller: Caller) -> service_pb.ListBackupsResponse:
        require_folder_id(request.folder_id)
        caller.authenticated.require(request.folder_id, Permission.READ)
        backups, token = list_page(self.db, request.page_size, request.page_token, folder_id=request.folder_id)
        return service_pb.ListBackupsResponse(backups=backups, next_page_token=token)

    def delete(self, request: service_pb.DeleteBackupRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._backup(request.backup_id, caller, Permission.MUTATE)

        def prepare(conn: Connection) -> Submission:
            return Submission.of(
                registry.DELETE_BACKUP,
                request,
                service_pb.DeleteBackupMetadata(backup_id=record.id),
                folder_id=record.folder_id,
                cluster_id=record.source_cluster_id,
            )

        return submit_operation(self.queue, caller, registry.DELETE_BACKUP, request, prepare)
