"""Cron fields of backup retention policies: does a backup's date match a policy?

Each field is ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a list of
those separated by commas. Day of week counts 0-7 with both 0 and 7 Sunday. As in cron, when
both day of month and day of week are restricted, a day matching either one matches.
"""

from __future__ import annotations

import datetime as dt

from managed_redis.errors import InternalError

BOUNDS = {"minute": (0, 59), "hour": (0, 23), "day_of_month": (1, 31), "month": (1, 12), "day_of_week": (0, 7)}


class CronError(InternalError, ValueError):
    """A field is not cron syntax; the message names the field."""


def values(field: str, text: str) -> frozenset[int] | None:
    """The numbers a field allows, or None for ``*`` (anything)."""
    low, high = BOUNDS[field]
    text = (text or "*").strip()
    if text == "*":
        return None
    allowed: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                start, end = low, high
            elif "-" in base:
                start, end = (int(n) for n in base.split("-", 1))
            else:
                start = end = int(base)
        except ValueError:
            raise CronError(f"{field}: {text!r} is not cron syntax") from None
        if step < 1 or not (low <= start <= end <= high):
            raise CronError(f"{field}: {text!r} is outside {low}-{high}")
        allowed.update(range(start, end + 1, step))
    if field == "day_of_week" and 7 in allowed:
        allowed.add(0)
    return frozenset(allowed)


def matches_day(day: dt.datetime, day_of_month: str, month: str, day_of_week: str) -> bool:
    months = values("month", month)
    if months is not None and day.month not in months:
        return False
    days = values("day_of_month", day_of_month)
    weekdays = values("day_of_week", day_of_week)
    weekday = (day.weekday() + 1) % 7  # Monday=1 ... Sunday=0
    if days is None and weekdays is None:
        return True
    if days is None:
        return weekday in weekdays  # type: ignore[operator]
    if weekdays is None:
        return day.day in days
    return day.day in days or weekday in weekdays
