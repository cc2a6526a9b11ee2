"""The rules of change freezes, as tables: statuses at moments, admission of a new freeze
against the limits and the freezes already there, yearly use, and termination refunds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from managed_redis.domain import change_freezes as rules
from managed_redis.domain.change_freezes import DAY_S, FreezeError, FreezeStatus, Refusal, Termination

NOW = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Span:
    start_at: dt.datetime
    end_at: dt.datetime
    terminated_at: dt.datetime | None = None
    id: str = "f1"


def at(days: float) -> dt.datetime:
    return NOW + dt.timedelta(days=days)


def test_the_limits_are_the_documented_choice() -> None:
    limits = rules.LIMITS
    assert (limits.yearly_limit_s, limits.max_period_s, limits.min_gap_s, limits.max_advance_s) == (
        30 * DAY_S,
        14 * DAY_S,
        7 * DAY_S,
        365 * DAY_S,
    )


@pytest.mark.parametrize(
    ("freeze", "moment", "status"),
    [
        (Span(at(1), at(3)), at(0), FreezeStatus.SCHEDULED),
        (Span(at(1), at(3)), at(1), FreezeStatus.ACTIVE),  # the start belongs to the span
        (Span(at(1), at(3)), at(2.9), FreezeStatus.ACTIVE),
        (Span(at(1), at(3)), at(3), FreezeStatus.COMPLETED),  # the end does not
        (Span(at(1), at(3), terminated_at=at(0.5)), at(0.4), FreezeStatus.SCHEDULED),
        (Span(at(1), at(3), terminated_at=at(0.5)), at(0.5), FreezeStatus.CANCELLED),
        (Span(at(1), at(3), terminated_at=at(0.5)), at(2), FreezeStatus.CANCELLED),
        (Span(at(1), at(3), terminated_at=at(2)), at(1.5), FreezeStatus.ACTIVE),
        (Span(at(1), at(3), terminated_at=at(2)), at(2), FreezeStatus.COMPLETED),
        (Span(at(1), at(3), terminated_at=at(2)), at(10), FreezeStatus.COMPLETED),
    ],
)
def test_status_follows_the_moment(freeze: Span, moment: dt.datetime, status: FreezeStatus) -> None:
    assert rules.status_at(freeze, moment) is status


@pytest.mark.parametrize(
    ("start", "end", "existing", "error", "field"),
    [
        (at(1), at(3), [], None, None),
        (NOW - dt.timedelta(seconds=30), at(1), [], None, None),  # "now", arriving late
        (at(1), at(1), [], FreezeError.INVALID_TIME_RANGE, "end_at"),
        (at(2), at(1), [], FreezeError.INVALID_TIME_RANGE, "end_at"),
        (NOW - HOUR, at(1), [], FreezeError.START_TIME_IN_PAST, "start_at"),
        (at(365), at(366), [], None, None),
        (at(365) + HOUR, at(366), [], FreezeError.START_TIME_TOO_FAR, "start_at"),
        (at(1), at(15), [], None, None),  # exactly 14 days
        (at(1), at(15) + HOUR, [], FreezeError.EXCEEDS_MAX_DURATION, "end_at"),
        # beside another freeze: overlap, then the 7-day gap on either side
        (at(2), at(4), [Span(at(3), at(5))], FreezeError.OVERLAPPING_CHANGE_FREEZE, None),
        (at(3), at(4), [Span(at(1), at(10))], FreezeError.OVERLAPPING_CHANGE_FREEZE, None),
        (at(10), at(11), [Span(at(1), at(5))], FreezeError.INSUFFICIENT_GAP, None),
        (at(12), at(13), [Span(at(1), at(5))], None, None),  # 7 days after its end
        (at(1), at(2), [Span(at(8), at(9))], FreezeError.INSUFFICIENT_GAP, None),
        (at(1), at(2), [Span(at(9), at(10))], None, None),
        # a cancelled freeze takes no time; a terminated one holds only up to its termination
        (at(2), at(4), [Span(at(3), at(5), terminated_at=at(1))], None, None),
        (at(10), at(11), [Span(at(0), at(9), terminated_at=at(3))], None, None),
        (at(5), at(6), [Span(at(0), at(9), terminated_at=at(3))], FreezeError.INSUFFICIENT_GAP, None),
    ],
)
def test_admission_of_a_new_freeze(
    start: dt.datetime, end: dt.datetime, existing: list[Span], error: FreezeError | None, field: str | None
) -> None:
    refusal = rules.check_new(start, end, existing, NOW)
    if error is None:
        assert refusal is None
    else:
        assert refusal is not None and (refusal.error, refusal.field) == (error, field)


def test_the_yearly_limit_counts_each_calendar_year() -> None:
    two_weeks = [Span(at(1), at(15), id="a"), Span(at(30), at(44), id="b")]  # 28 days of 2027
    refusal = rules.check_new(at(60), at(63), two_weeks, NOW)
    assert refusal is not None and refusal.error is FreezeError.EXCEEDS_YEARLY_LIMIT
    assert "172800 s" in refusal.message  # 2 of the 30 days are left
    assert rules.check_new(at(60), at(62), two_weeks, NOW) is None
    # Returned seconds are free again: the second freeze terminated after 1 of its 14 days.
    refunded = [two_weeks[0], Span(at(30), at(44), terminated_at=at(31), id="b")]
    assert rules.check_new(at(60), at(70), refunded, NOW) is None
    # A freeze over New Year takes each year's part from that year's limit.
    new_year = dt.datetime(2028, 1, 1, tzinfo=dt.UTC)
    assert rules.seconds_in_year(new_year - DAY, new_year + 2 * DAY, 2027) == DAY_S
    assert rules.seconds_in_year(new_year - DAY, new_year + 2 * DAY, 2028) == 2 * DAY_S
    assert rules.check_new(new_year - 3 * DAY, new_year + DAY, two_weeks, NOW) is not None
    assert rules.check_new(new_year - 2 * DAY, new_year + 10 * DAY, two_weeks, NOW) is None


@pytest.mark.parametrize(
    ("freezes", "used"),
    [
        ([], 0),
        ([Span(at(1), at(3))], 2 * DAY_S),
        ([Span(at(1), at(3), terminated_at=at(0))], 0),
        ([Span(at(1), at(3), terminated_at=at(1.5))], DAY_S // 2),
        # 2027-12-26 12:00 to 2028-01-05 12:00: 5.5 days of it in 2027
        ([Span(at(1), at(3)), Span(at(300), at(310))], 2 * DAY_S + 11 * DAY_S // 2),
    ],
)
def test_used_seconds_of_a_year(freezes: list[Span], used: int) -> None:
    assert rules.used_in_year(freezes, 2027) == used


@pytest.mark.parametrize(
    ("freeze", "moment", "outcome"),
    [
        (Span(at(1), at(3)), at(0), Termination(FreezeStatus.CANCELLED, 0, 2 * DAY_S)),
        (Span(at(1), at(3)), at(1), Termination(FreezeStatus.CANCELLED, 0, 2 * DAY_S)),  # at its very start
        (Span(at(1), at(3)), at(1) + HOUR, Termination(FreezeStatus.COMPLETED, 3600, 2 * DAY_S - 3600)),
        (Span(at(1), at(3)), at(3), FreezeError.CANNOT_DELETE_PAST_PERIOD),
        (Span(at(1), at(3), terminated_at=at(0)), at(0.5), FreezeError.CANNOT_DELETE_PAST_PERIOD),
        (Span(at(1), at(3), terminated_at=at(2)), at(2.5), FreezeError.CANNOT_DELETE_PAST_PERIOD),
    ],
)
def test_termination_refunds_the_unused_seconds(
    freeze: Span, moment: dt.datetime, outcome: Termination | FreezeError
) -> None:
    result = rules.terminate_at(freeze, moment)
    if isinstance(outcome, Termination):
        assert result == outcome
        done = Span(freeze.start_at, freeze.end_at, terminated_at=moment)
        assert rules.terminated(done) == outcome  # the same figures, read back later
        assert rules.status_at(done, moment) is outcome.status
    else:
        assert isinstance(result, Refusal) and result.error is outcome


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (FreezeError.RESOURCE_NOT_FOUND, "not_found"),
        (FreezeError.CHANGE_FREEZE_NOT_FOUND, "not_found"),
        (FreezeError.EXCEEDS_YEARLY_LIMIT, "precondition"),
        (FreezeError.INSUFFICIENT_GAP, "precondition"),
        (FreezeError.OVERLAPPING_CHANGE_FREEZE, "precondition"),
        (FreezeError.CANNOT_DELETE_PAST_PERIOD, "precondition"),
        (FreezeError.INVALID_TIME_RANGE, "invalid"),
        (FreezeError.START_TIME_IN_PAST, "invalid"),
        (FreezeError.START_TIME_TOO_FAR, "invalid"),
        (FreezeError.EXCEEDS_MAX_DURATION, "invalid"),
    ],
)
def test_each_error_type_has_its_kind_of_answer(error: FreezeError, kind: str) -> None:
    assert error.kind == kind
