"""The rules of change freezes (pure): limits, status at a moment, admission of a new freeze,
and what a termination uses and gives back.

A change freeze is a span ``[start_at, end_at)`` (aware UTC datetimes) during which the
resource's planned maintenance does not start (api.md §10.4 [I]). The public docs give no
numbers for its limits (api.md §10.6 Q6); these are ours, reported by ``GetLimits``:

* ``yearly_limit_s`` 30 days: freezes may take at most this much of each calendar year
  (UTC). A freeze spanning New Year counts its part in each year. A scheduled freeze counts
  whole (it is reserved); a terminated one only its used part (the rest is returned).
* ``max_period_s`` 14 days: the longest single freeze.
* ``min_gap_s`` 7 days: between the end of one freeze in force and the start of the next,
  so freezes cannot be chained past ``max_period_s``.
* ``max_advance_s`` 365 days: how far ahead a freeze may start.
* A start up to ``PAST_TOLERANCE`` (60 s) in the past is taken as "now" (a caller's
  "start now" arrives a little late); earlier is START_TIME_IN_PAST.

Refusals carry the ``ChangeFreezeErrorCode.Type`` name (``FreezeError``), the field they
concern (None when the state, not a field, is wrong) and a message. Which gRPC code each
gets is api.md §10.4 [I]: ``FreezeError.kind``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

DAY_S = 86_400
PAST_TOLERANCE = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class FreezeLimits:
    """The limits of a resource's change freezes, in seconds."""

    yearly_limit_s: int = 30 * DAY_S
    max_period_s: int = 14 * DAY_S
    min_gap_s: int = 7 * DAY_S
    max_advance_s: int = 365 * DAY_S


LIMITS = FreezeLimits()


class FreezeStatus(enum.StrEnum):
    """``ChangeFreeze.Status`` names."""

    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class FreezeError(enum.StrEnum):
    """``ChangeFreezeErrorCode.Type`` names, each with the kind of answer it is."""

    RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
    CHANGE_FREEZE_NOT_FOUND = "CHANGE_FREEZE_NOT_FOUND"
    EXCEEDS_YEARLY_LIMIT = "EXCEEDS_YEARLY_LIMIT"
    EXCEEDS_MAX_DURATION = "EXCEEDS_MAX_DURATION"
    INSUFFICIENT_GAP = "INSUFFICIENT_GAP"
    OVERLAPPING_CHANGE_FREEZE = "OVERLAPPING_CHANGE_FREEZE"
    INVALID_TIME_RANGE = "INVALID_TIME_RANGE"
    START_TIME_IN_PAST = "START_TIME_IN_PAST"
    START_TIME_TOO_FAR = "START_TIME_TOO_FAR"
    CANNOT_DELETE_PAST_PERIOD = "CANNOT_DELETE_PAST_PERIOD"

    @property
    def kind(self) -> str:
        """``"not_found"``, ``"precondition"`` (a state blocks it) or ``"invalid"`` (a bad field)."""
        if self.name.endswith("_NOT_FOUND"):
            return "not_found"
        if self in _PRECONDITIONS:
            return "precondition"
        return "invalid"


_PRECONDITIONS = frozenset(
    {
        FreezeError.EXCEEDS_YEARLY_LIMIT,
        FreezeError.INSUFFICIENT_GAP,
        FreezeError.OVERLAPPING_CHANGE_FREEZE,
        FreezeError.CANNOT_DELETE_PAST_PERIOD,
    }
)


@dataclass(frozen=True)
class Refusal:
    """Why a freeze or a termination is refused: the error type, the field (if a field is
    wrong) and a message saying what to do."""

    error: FreezeError
    field: str | None
    message: str


class Freeze(Protocol):
    """What the rules read of a stored freeze (``store.change_freezes.ChangeFreezeRecord``)."""

    @property
    def start_at(self) -> dt.datetime: ...
    @property
    def end_at(self) -> dt.datetime: ...
    @property
    def terminated_at(self) -> dt.datetime | None: ...


def seconds(delta: dt.timedelta) -> int:
    """Whole seconds of ``delta`` (floor; never negative)."""
    return max(0, int(delta.total_seconds()))


def effective_end(freeze: Freeze) -> dt.datetime:
    """When the freeze stops (stopped) holding: its ``end_at``, or its termination if earlier.
    A freeze cancelled before its start ends at its start (it takes no time)."""
    if freeze.terminated_at is None:
        return freeze.end_at
    return max(freeze.start_at, min(freeze.end_at, freeze.terminated_at))


def status_at(freeze: Freeze, at: dt.datetime) -> FreezeStatus:
    """The freeze's status at the moment ``at``: SCHEDULED before its start, ACTIVE inside
    its span, COMPLETED after its end; once terminated, CANCELLED if that was before its
    start, else COMPLETED."""
    if freeze.terminated_at is not None and freeze.terminated_at <= at:
        return FreezeStatus.CANCELLED if freeze.terminated_at <= freeze.start_at else FreezeStatus.COMPLETED
    if at < freeze.start_at:
        return FreezeStatus.SCHEDULED
    if at < freeze.end_at:
        return FreezeStatus.ACTIVE
    return FreezeStatus.COMPLETED


def _year_span(year: int) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime(year, 1, 1, tzinfo=dt.UTC), dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)


def seconds_in_year(start: dt.datetime, end: dt.datetime, year: int) -> int:
    """Seconds of ``[start, end)`` that fall in the calendar year ``year`` (UTC)."""
    first, after = _year_span(year)
    return seconds(min(end, after) - max(start, first))


def used_in_year(freezes: Iterable[Freeze], year: int) -> int:
    """Seconds of ``year`` the freezes take: scheduled or active ones whole, terminated ones
    up to their termination."""
    return sum(seconds_in_year(f.start_at, effective_end(f), year) for f in freezes)


def check_new(
    start: dt.datetime,
    end: dt.datetime,
    existing: Iterable[Freeze],
    now: dt.datetime,
    limits: FreezeLimits = LIMITS,
) -> Refusal | None:
    """Why a new freeze ``[start, end)`` of a resource with the ``existing`` freezes cannot be
    made at ``now``; None when it can. Field errors come first, then the state's."""
    return _check_range(start, end, now, limits) or _check_neighbours(start, end, existing, limits)


def _check_range(start: dt.datetime, end: dt.datetime, now: dt.datetime, limits: FreezeLimits) -> Refusal | None:
    if end <= start:
        return Refusal(FreezeError.INVALID_TIME_RANGE, "end_at", "must be later than start_at")
    if start < now - PAST_TOLERANCE:
        return Refusal(FreezeError.START_TIME_IN_PAST, "start_at", "is in the past; a freeze starts now or later")
    if start - now > dt.timedelta(seconds=limits.max_advance_s):
        days = limits.max_advance_s // DAY_S
        return Refusal(FreezeError.START_TIME_TOO_FAR, "start_at", f"is more than {days} days ahead")
    if end - start > dt.timedelta(seconds=limits.max_period_s):
        days = limits.max_period_s // DAY_S
        return Refusal(FreezeError.EXCEEDS_MAX_DURATION, "end_at", f"a freeze lasts at most {days} days")
    return None


def _check_neighbours(
    start: dt.datetime, end: dt.datetime, existing: Iterable[Freeze], limits: FreezeLimits
) -> Refusal | None:
    in_force = [f for f in existing if effective_end(f) > f.start_at]
    gap = dt.timedelta(seconds=limits.min_gap_s)
    for other in in_force:
        other_end = effective_end(other)
        if start < other_end and other.start_at < end:
            return Refusal(
                FreezeError.OVERLAPPING_CHANGE_FREEZE,
                None,
                f"overlaps the change freeze {_id(other)} ({other.start_at.isoformat()} to {other_end.isoformat()})",
            )
        if start < other_end + gap and other.start_at < end + gap:
            return Refusal(
                FreezeError.INSUFFICIENT_GAP,
                None,
                f"is closer than {limits.min_gap_s // DAY_S} days to the change freeze {_id(other)} "
                f"({other.start_at.isoformat()} to {other_end.isoformat()})",
            )
    for year in range(start.year, end.year + 1):
        used = used_in_year(in_force, year)
        wanted = seconds_in_year(start, end, year)
        if used + wanted > limits.yearly_limit_s:
            return Refusal(
                FreezeError.EXCEEDS_YEARLY_LIMIT,
                None,
                f"would take {wanted} s of {year}, which has {max(0, limits.yearly_limit_s - used)} s of its "
                f"yearly limit of {limits.yearly_limit_s} s left",
            )
    return None


def _id(freeze: Freeze) -> str:
    return str(getattr(freeze, "id", "")) or "(unnamed)"


@dataclass(frozen=True)
class Termination:
    """What terminating a freeze at a moment does: its new status, the seconds it used and
    the seconds it returns to the yearly limit (together its whole duration)."""

    status: FreezeStatus
    used_s: int
    returned_s: int


def terminate_at(freeze: Freeze, at: dt.datetime) -> Termination | Refusal:
    """Terminating ``freeze`` at ``at``: before its start it is CANCELLED and returns all its
    seconds; while active it is COMPLETED, having used the seconds from its start to ``at``.
    A freeze already ended (past, or terminated before) is CANNOT_DELETE_PAST_PERIOD."""
    current = status_at(freeze, at)
    if current in (FreezeStatus.COMPLETED, FreezeStatus.CANCELLED):
        return Refusal(
            FreezeError.CANNOT_DELETE_PAST_PERIOD,
            None,
            f"change freeze {_id(freeze)} is already {current}; only a scheduled or active freeze can be terminated",
        )
    return _termination(freeze, at)


def terminated(freeze: Freeze) -> Termination | None:
    """What the freeze's termination did, as recorded (None if it was not terminated)."""
    return None if freeze.terminated_at is None else _termination(freeze, freeze.terminated_at)


def _termination(freeze: Freeze, at: dt.datetime) -> Termination:
    duration = seconds(freeze.end_at - freeze.start_at)
    if at <= freeze.start_at:
        return Termination(FreezeStatus.CANCELLED, 0, duration)
    used = min(duration, seconds(at - freeze.start_at))
    return Termination(FreezeStatus.COMPLETED, used, duration - used)
