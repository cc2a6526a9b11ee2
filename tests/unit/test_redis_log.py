"""Redis's log line format read into its parts, as a table: line in, parts (or None) out."""

from __future__ import annotations

import datetime as dt

import pytest

from managed_redis.domain.redis_log import RedisLogLine, parse_line

UTC = dt.UTC
HINT = dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PLUS3 = dt.timezone(dt.timedelta(hours=3))


def at(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    micro: int = 0,
    zone: dt.tzinfo = UTC,
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Redis 7 / Valkey 8: pid:role, a date with its year, milliseconds, the level mark.
        (
            "6279:M 30 Nov 2026 19:14:04.335 * Ready to accept connections",
            RedisLogLine(at(2026, 11, 30, 19, 14, 4, 335000), "6279", "M", "*", "Ready to accept connections"),
        ),
        (
            "12:S 01 Jan 2026 00:00:00.000 # MASTER aborted replication",
            RedisLogLine(at(2026, 1, 1), "12", "S", "#", "MASTER aborted replication"),
        ),
        ("7:C 5 Feb 2026 01:02:03.004 - child", RedisLogLine(at(2026, 2, 5, 1, 2, 3, 4000), "7", "C", "-", "child")),
        (
            "9:X 30 Nov 2026 19:14:04.400 . +sdown master m 127.0.0.1 6379",
            RedisLogLine(at(2026, 11, 30, 19, 14, 4, 400000), "9", "X", ".", "+sdown master m 127.0.0.1 6379"),
        ),
        # A message keeps its own spacing and marks.
        (
            "1:M 30 Nov 2026 19:14:04.335 *   two  spaces # *",
            RedisLogLine(at(2026, 11, 30, 19, 14, 4, 335000), "1", "M", "*", "  two  spaces # *"),
        ),
        ("1:M 30 Nov 2026 19:14:04.335 * ", RedisLogLine(at(2026, 11, 30, 19, 14, 4, 335000), "1", "M", "*", "")),
        # Redis 2.6-2.8: no year; it is the hint's.
        ("42:M 29 Nov 10:00:00.123 * old", RedisLogLine(at(2026, 11, 29, 10, 0, 0, 123000), "42", "M", "*", "old")),
        # ... or the year before, when the hint's year would put the line past the hint.
        (
            "42:M 31 Dec 23:59:59.999 * last year",
            RedisLogLine(at(2025, 12, 31, 23, 59, 59, 999000), "42", "M", "*", "last year"),
        ),
        # Redis 2.4 and older: [pid], no role, no milliseconds.
        ("[42] 29 Nov 10:00:00 # older", RedisLogLine(at(2026, 11, 29, 10), "42", "", "#", "older")),
        # Not Redis's format: the caller keeps the text.
        ("=== REDIS BUG REPORT START: Cut & paste starting from here ===", None),
        ("------ STACK TRACE ------", None),
        ("                _._", None),
        ("6279:Q 30 Nov 2026 19:14:04.335 * unknown role", None),
        ("6279:M 30 Nov 2026 19:14:04.335 ! unknown level", None),
        ("6279:M 31 Feb 2026 19:14:04.335 * no such day", None),
        ("6279:M 30 Foo 2026 19:14:04.335 * no such month", None),
        ("6279:M 30 Nov 2026 19:14:04.3 * short milliseconds", None),
        ("", None),
    ],
)
def test_a_line_is_read_into_its_parts(text: str, expected: RedisLogLine | None) -> None:
    assert parse_line(text, HINT, UTC) == expected


def test_the_time_is_read_in_the_zone_redis_wrote_in() -> None:
    line = parse_line("1:M 30 Nov 2026 19:14:04.335 * x", HINT, PLUS3)
    assert line is not None
    assert line.timestamp == at(2026, 11, 30, 16, 14, 4, 335000)


def test_without_a_zone_the_time_is_this_machines_local_time() -> None:
    line = parse_line("1:M 30 Nov 2026 19:14:04.335 * x", HINT)
    assert line is not None
    assert line.timestamp == dt.datetime(2026, 11, 30, 19, 14, 4, 335000).astimezone()
