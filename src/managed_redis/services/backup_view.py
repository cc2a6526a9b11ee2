"""Backups as the API shows them: ``yandex.cloud.mdb.redis.v1.Backup``."""

from __future__ import annotations

from yandex.cloud.mdb.redis.v1 import backup_pb2

from managed_redis.domain.timestamps import timestamp
from managed_redis.store.backups import BackupRecord


def backup_proto(record: BackupRecord) -> backup_pb2.Backup:
    backup = backup_pb2.Backup(
        id=record.id,
        folder_id=record.folder_id,
        source_cluster_id=record.source_cluster_id,
        started_at=timestamp(record.started_at),
        source_shard_names=record.shard_names,
        type=backup_pb2.Backup.BackupType.Value(record.type),
    )
    if record.created_at is not None:
        backup.created_at.CopyFrom(timestamp(record.created_at))
    return backup
