"""Handlers that create and delete backup retention policies (the store is all they touch)."""

from __future__ import annotations

from google.protobuf import empty_pb2
from yandex.cloud.mdb.redis.v1 import backup_retention_policy_service_pb2 as retention_service_pb
from yandex.cloud.mdb.v1 import backup_retention_policy_pb2 as policy_pb

from managed_redis.domain.timestamps import timestamp
from managed_redis.operations.context import OperationContext
from managed_redis.store import backups as backup_store
from managed_redis.store.backups import RetentionPolicyRecord


def policy_proto(record: RetentionPolicyRecord) -> policy_pb.BackupRetentionPolicy:
    return policy_pb.BackupRetentionPolicy(
        policy_id=record.id,
        cluster_id=record.cluster_id,
        policy_name=record.name,
        created_at=timestamp(record.created_at),
        cron=policy_pb.CronTab(
            minute=record.minute,
            hour=record.hour,
            day_of_month=record.day_of_month,
            month=record.month,
            day_of_week=record.day_of_week,
        ),
        retain_for_days=record.retain_for_days,
        description=record.description,
    )


def create_policy(
    ctx: OperationContext[retention_service_pb.CreateBackupRetentionPolicyRequest],
) -> policy_pb.BackupRetentionPolicy:
    request = ctx.request
    policy_id = ctx.metadata(policy_pb.CreateBackupRetentionPolicyMetadata).policy_id
    with ctx.db.write() as conn:
        record = backup_store.get_policy(conn, policy_id)
        if record is None:
            cron = request.cron
            record = RetentionPolicyRecord(
                id=policy_id,
                cluster_id=request.cluster_id,
                folder_id=ctx.record.folder_id,
                name=request.policy_name,
                retain_for_days=request.retain_for_days,
                created_at=ctx.clock.now(),
                description=request.description,
                minute=cron.minute or "*",
                hour=cron.hour or "*",
                day_of_month=cron.day_of_month or "*",
                month=cron.month or "*",
                day_of_week=cron.day_of_week or "*",
            )
            backup_store.insert_policy(conn, record)
    return policy_proto(record)


def delete_policy(ctx: OperationContext[retention_service_pb.DeleteBackupRetentionPolicyRequest]) -> empty_pb2.Empty:
    with ctx.db.write() as conn:
        backup_store.delete_policy(conn, ctx.request.policy_id)
    return empty_pb2.Empty()
