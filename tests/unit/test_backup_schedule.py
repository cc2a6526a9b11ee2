"""Backup windows, cron matching and expiry rules, without processes."""

from __future__ import annotations

import datetime as dt

import pytest

from managed_redis.domain.backup_schedule import expires_at, last_window_start, window_open
from managed_redis.domain.cron import CronError, matches_day, values
from managed_redis.statuses import BackupStatus, BackupType
from managed_redis.store.backups import BackupRecord, RetentionPolicyRecord

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_windows() -> None:
    assert last_window_start(at("2026-05-10T23:00"), 22, 0) == at("2026-05-10T22:00")
    assert last_window_start(at("2026-05-10T03:00"), 22, 0) == at("2026-05-09T22:00")
    assert window_open(at("2026-05-10T22:29"), at("2026-05-10T22:00"))
    assert not window_open(at("2026-05-10T22:31"), at("2026-05-10T22:00"))


def test_cron_fields() -> None:
    assert values("day_of_month", "*") is None
    assert values("day_of_month", "1,15") == frozenset({1, 15})
    assert values("month", "1-12/3") == frozenset({1, 4, 7, 10})
    assert values("day_of_week", "7") == frozenset({0, 7})
    with pytest.raises(CronError, match="day_of_month"):
        values("day_of_month", "32")
    with pytest.raises(CronError):
        values("month", "jan")
    sunday = at("2026-05-10T00:00")  # a Sunday, the 10th
    assert matches_day(sunday, "*", "*", "0")
    assert matches_day(sunday, "10", "5", "*")
    assert not matches_day(sunday, "1", "*", "*")
    assert matches_day(sunday, "1", "*", "0")  # cron: either restricted day field matches


def backup(kind: str, created: str, deleted: str | None = None) -> BackupRecord:
    return BackupRecord(
        id="c:1",
        folder_id="f",
        source_cluster_id="c",
        type=BackupType(kind),
        status=BackupStatus.DONE,
        started_at=at(created),
        created_at=at(created),
        cluster_deleted_at=at(deleted) if deleted else None,
    )


def policy(days: int, day_of_month: str = "*") -> RetentionPolicyRecord:
    return RetentionPolicyRecord("p", "c", "f", "p", days, at("2026-01-01T00:00"), day_of_month=day_of_month)


def test_expiry_rules() -> None:
    assert expires_at(backup("MANUAL", "2026-05-01T22:00"), 7, []) is None
    assert expires_at(backup("AUTOMATED", "2026-05-01T22:00"), None, []) == at("2026-05-08T22:00")
    assert expires_at(backup("AUTOMATED", "2026-05-01T22:00"), 14, []) == at("2026-05-15T22:00")
    assert expires_at(backup("AUTOMATED", "2026-05-01T22:00"), 7, [policy(90, "1")]) == at("2026-07-30T22:00")
    assert expires_at(backup("AUTOMATED", "2026-05-02T22:00"), 7, [policy(90, "1")]) == at("2026-05-09T22:00")
    deleted = backup("MANUAL", "2026-05-01T22:00", deleted="2026-05-03T10:00")
    assert expires_at(deleted, 7, []) == at("2026-05-10T10:00")
