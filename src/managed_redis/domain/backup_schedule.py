"""When automatic backups are due and when backups expire (api.md §5, issue rules).

- An automatic backup is due once a day in the cluster's ``backup_window_start`` (UTC,
  default 22:00); it may start within ``WINDOW_LENGTH`` of the window's start.
- AUTOMATED backups expire ``backup_retain_period_days`` (default 7) after they were made,
  later if a retention policy of the cluster matches the day they were made.
- MANUAL backups stay until deleted.
- Once their cluster is deleted, every backup of it expires ``DELETED_CLUSTER_KEEP`` later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from managed_redis.domain.cron import matches_day
from managed_redis.statuses import BackupType
from managed_redis.store.backups import BackupRecord, RetentionPolicyRecord

WINDOW_LENGTH = dt.timedelta(minutes=30)
DELETED_CLUSTER_KEEP = dt.timedelta(days=7)
DEFAULT_RETAIN_DAYS = 7
DEFAULT_WINDOW_HOUR = 22


def last_window_start(now: dt.datetime, hours: int, minutes: int) -> dt.datetime:
    """The latest daily window start at ``hours:minutes`` UTC not after ``now``."""
    today = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    return today if today <= now else today - dt.timedelta(days=1)


def window_open(now: dt.datetime, window_start: dt.datetime) -> bool:
    return window_start <= now < window_start + WINDOW_LENGTH


def expires_at(
    backup: BackupRecord, retain_days: int | None, policies: Iterable[RetentionPolicyRecord]
) -> dt.datetime | None:
    """When the backup should be removed; None while it is to be kept."""
    if backup.cluster_deleted_at is not None:
        return backup.cluster_deleted_at + DELETED_CLUSTER_KEEP
    if backup.type != BackupType.AUTOMATED or backup.created_at is None:
        return None
    days = retain_days or DEFAULT_RETAIN_DAYS
    for policy in policies:
        if matches_day(backup.created_at, policy.day_of_month, policy.month, policy.day_of_week):
            days = max(days, policy.retain_for_days)
    return backup.created_at + dt.timedelta(days=days)
