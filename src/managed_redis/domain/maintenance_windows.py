"""When a cluster's maintenance may run: its maintenance windows as time arithmetic (pure).

A cluster declares one of two shapes (api.md §3.6, §10.3); both are read here:

- the legacy ``maintenance_window``: ``anytime``, or ``weekly_maintenance_window {day, hour}``
  where ``day`` is MON..SUN and ``hour`` N (1-24, UTC) means the hour (N-1):00-N:00;
- the newer ``maintenance_windows``: ``anytime``, or ``weekly_maintenance_schedule.slots[]``
  of ``{day (google.type.DayOfWeek), start_time (UTC), duration}``.

When both are set, the newer wins; neither set, or ``anytime``, means no constraint
(``None`` here: open at every moment). A slot whose day is unspecified opens every day.
All times are aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yandex.cloud.mdb.redis.v1 import cluster_pb2

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Slot:
    """A weekly opening: ``weekday`` 0 (Monday) .. 6, or None for every day; ``start`` from
    midnight UTC; ``duration`` how long it stays open."""

    weekday: int | None
    start: dt.timedelta
    duration: dt.timedelta


# None: anytime (no window constraint).
Windows = tuple[Slot, ...] | None


def windows_of(cluster: cluster_pb2.Cluster) -> Windows:
    """The cluster's windows: ``maintenance_windows`` if set, else ``maintenance_window``."""
    if cluster.HasField("maintenance_windows"):
        newer = cluster.maintenance_windows
        if newer.HasField("weekly_maintenance_schedule"):
            return tuple(
                Slot(
                    weekday=slot.day - 1 if slot.day else None,
                    start=dt.timedelta(
                        hours=slot.start_time.hours, minutes=slot.start_time.minutes, seconds=slot.start_time.seconds
                    ),
                    duration=slot.duration.ToTimedelta(),
                )
                for slot in newer.weekly_maintenance_schedule.slots
            )
        return None
    legacy = cluster.maintenance_window
    if legacy.HasField("weekly_maintenance_window"):
        weekly = legacy.weekly_maintenance_window
        weekday = weekly.day - 1 if weekly.day else None
        return (Slot(weekday=weekday, start=(weekly.hour - 1) * HOUR, duration=HOUR),)
    return None


def _openings(slots: tuple[Slot, ...], around: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """Every [open, close) of ``slots`` that starts within 8 days before or after ``around``."""
    midnight = around.replace(hour=0, minute=0, second=0, microsecond=0)
    spans = []
    for offset in range(-8, 9):
        day = midnight + offset * DAY
        for slot in slots:
            if slot.duration <= dt.timedelta(0):
                continue
            if slot.weekday is None or slot.weekday == day.weekday():
                spans.append((day + slot.start, day + slot.start + slot.duration))
    return spans


def is_open(windows: Windows, at: dt.datetime) -> bool:
    """Whether a window is open at ``at`` (always, for anytime)."""
    if windows is None:
        return True
    return any(start <= at < end for start, end in _openings(windows, at))


def first_open_at_or_after(windows: Windows, at: dt.datetime) -> dt.datetime:
    """The first moment at or after ``at`` when a window is open: ``at`` itself if one is
    open then (or anytime), else the next window's start. ValueError when the slots never
    open (every duration zero)."""
    if windows is None:
        return at
    candidates = [max(start, at) for start, end in _openings(windows, at) if end > at]
    if not candidates:
        raise ValueError("the maintenance windows never open")
    return min(candidates)


def next_window_start(windows: Windows, after: dt.datetime) -> dt.datetime:
    """The start of the next window opening strictly after ``after`` (``after`` itself for
    anytime, where every moment is a window)."""
    if windows is None:
        return after
    starts = [start for start, _ in _openings(windows, after) if start > after]
    if not starts:
        raise ValueError("the maintenance windows never open")
    return min(starts)
