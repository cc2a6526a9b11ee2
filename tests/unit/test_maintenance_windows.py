"""Maintenance window arithmetic as tables: which window a cluster has (the newer field wins),
whether it is open at a moment, and the first moment it opens at or after another."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from google.protobuf import json_format
from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.domain.maintenance_windows import (
    first_open_at_or_after,
    is_open,
    next_window_start,
    windows_of,
)


def at(text: str) -> dt.datetime:
    """``2026-12-02 03:30`` as an aware UTC datetime (2026-11-30 is a Monday)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


LEGACY_WED_4 = {"maintenanceWindow": {"weeklyMaintenanceWindow": {"day": "WED", "hour": "4"}}}
LEGACY_SUN_24 = {"maintenanceWindow": {"weeklyMaintenanceWindow": {"day": "SUN", "hour": "24"}}}
ANYTIME: dict[str, Any] = {"maintenanceWindow": {"anytime": {}}}
SLOTS = {
    "maintenanceWindows": {
        "weeklyMaintenanceSchedule": {
            "slots": [
                {"day": "TUESDAY", "startTime": {"hours": 22, "minutes": 30}, "duration": "7200s"},
                {"day": "FRIDAY", "startTime": {"hours": 1}, "duration": "1800s"},
            ]
        }
    }
}
# Both set: the newer one wins.
BOTH = {**LEGACY_WED_4, **SLOTS}
NEWER_ANYTIME = {**LEGACY_WED_4, "maintenanceWindows": {"anytime": {}}}


def cluster(declared: dict[str, Any]) -> cluster_pb2.Cluster:
    return json_format.ParseDict(declared, cluster_pb2.Cluster())


@pytest.mark.parametrize(
    ("declared", "moment", "open_"),
    [
        ({}, "2026-12-01 10:00", True),  # nothing declared: anytime
        (ANYTIME, "2026-12-05 17:13", True),
        (LEGACY_WED_4, "2026-12-02 03:00", True),  # hour 4 = 03:00-04:00 UTC
        (LEGACY_WED_4, "2026-12-02 03:59:59", True),
        (LEGACY_WED_4, "2026-12-02 04:00", False),
        (LEGACY_WED_4, "2026-12-02 02:59", False),
        (LEGACY_WED_4, "2026-12-03 03:30", False),  # Thursday
        (LEGACY_SUN_24, "2026-12-06 23:30", True),  # hour 24 = 23:00-24:00 Sunday
        (LEGACY_SUN_24, "2026-12-07 00:00", False),
        (SLOTS, "2026-12-01 23:59", True),
        (SLOTS, "2026-12-02 00:29", True),  # a slot running past midnight
        (SLOTS, "2026-12-02 00:30", False),
        (SLOTS, "2026-12-04 01:10", True),
        (BOTH, "2026-12-02 03:30", False),  # the legacy Wednesday window no longer counts
        (BOTH, "2026-12-04 01:10", True),
        (NEWER_ANYTIME, "2026-12-02 12:00", True),
    ],
)
def test_window_open_at(declared: dict[str, Any], moment: str, open_: bool) -> None:
    assert is_open(windows_of(cluster(declared)), at(moment)) is open_


@pytest.mark.parametrize(
    ("declared", "moment", "first", "next_start"),
    [
        ({}, "2026-12-01 10:00", "2026-12-01 10:00", "2026-12-01 10:00"),
        (LEGACY_WED_4, "2026-11-30 12:00", "2026-12-02 03:00", "2026-12-02 03:00"),
        (LEGACY_WED_4, "2026-12-02 03:20", "2026-12-02 03:20", "2026-12-09 03:00"),  # inside: now; next week
        (LEGACY_WED_4, "2026-12-02 04:00", "2026-12-09 03:00", "2026-12-09 03:00"),
        (LEGACY_SUN_24, "2026-12-01 00:00", "2026-12-06 23:00", "2026-12-06 23:00"),
        (SLOTS, "2026-12-02 00:00", "2026-12-02 00:00", "2026-12-04 01:00"),
        (SLOTS, "2026-12-02 01:00", "2026-12-04 01:00", "2026-12-04 01:00"),
        (SLOTS, "2026-12-04 02:00", "2026-12-08 22:30", "2026-12-08 22:30"),
        (BOTH, "2026-12-01 12:00", "2026-12-01 22:30", "2026-12-01 22:30"),
    ],
)
def test_first_and_next_openings(declared: dict[str, Any], moment: str, first: str, next_start: str) -> None:
    windows = windows_of(cluster(declared))
    assert first_open_at_or_after(windows, at(moment)) == at(first)
    assert next_window_start(windows, at(moment)) == at(next_start)


def test_slots_that_never_open_are_an_error() -> None:
    never = {
        "maintenanceWindows": {
            "weeklyMaintenanceSchedule": {"slots": [{"day": "MONDAY", "startTime": {"hours": 1}, "duration": "0s"}]}
        }
    }
    with pytest.raises(ValueError, match="never open"):
        first_open_at_or_after(windows_of(cluster(never)), at("2026-12-01 00:00"))
