"""One line of a Redis or Sentinel log file, read into its parts.

Redis (and Valkey) write each line as ``<pid>:<role> <dd Mon yyyy HH:MM:SS.mmm> <level> <message>``
(``serverLogRaw`` in ``server.c``): role ``M`` master, ``S`` replica, ``C`` a child (RDB/AOF)
or the process before it knows its role, ``X`` Sentinel; level ``.`` debug, ``-`` verbose,
``*`` notice, ``#`` warning. Redis 2.6-2.8 wrote no year (``<pid>:<role> dd Mon HH:MM:SS.mmm``)
and 2.4 and older ``[<pid>] dd Mon HH:MM:SS``; both are read too. Valkey 8 writes Redis's
format by default (``log-format legacy``, ``log-timestamp-format legacy``, which this server
leaves as they are); what its lines say differs at places (``Ready to accept connections tcp``,
``PRIMARY <-> REPLICA sync``), which is the message's business, not the format's.

The time is the Redis process's local time, without a zone: it is read as the local time of
this machine (the local engine runs Redis here, with this process's ``TZ``), the first of
the two readings in the hour a clock is set back. A line without a year takes the year of
``year_hint`` (its file's modification time), or the year before when that would put it
more than a day after the hint.

Anything else (a crash report, the lines of ``INFO`` Redis dumps raw, a line cut short) is
no ``RedisLogLine``: ``parse_line`` returns None and the caller keeps the text as it is.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

ROLES = frozenset("MSCX")
LEVELS = {".": "debug", "-": "verbose", "*": "notice", "#": "warning"}
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: n for n, name in enumerate(_MONTH_NAMES, 1)}

_TIME = r"(\d{1,2}) ([A-Z][a-z]{2}) (?:(\d{4}) )?(\d{2}):(\d{2}):(\d{2})"
# Groups: pid, role, day, month, year, hour, minute, second, ms, level, message (no role in _OLD).
_MODERN = re.compile(rf"(\d+):([MSCX]) {_TIME}\.(\d{{3}}) ([-.*#]) (.*)", re.DOTALL)
_OLD = re.compile(rf"\[(\d+)\] {_TIME}(?:\.(\d{{3}}))? ([-.*#]) (.*)", re.DOTALL)


@dataclass(frozen=True)
class RedisLogLine:
    """A line in Redis's format: when (aware), which process (pid, role; role '' in the
    oldest format), how important (``level``, one of ``LEVELS``) and what it said."""

    timestamp: dt.datetime
    pid: str
    role: str
    level: str
    message: str


def parse_line(text: str, year_hint: dt.datetime, zone: dt.tzinfo | None = None) -> RedisLogLine | None:
    """``text`` (one line, without its newline) in Redis's format, or None when it is not.

    ``year_hint``: an aware time near the line's (its file's modification time), for lines
    that carry no year. ``zone``: the zone Redis wrote in; None for this machine's local zone.
    Never raises."""
    found = _MODERN.fullmatch(text)
    if found is not None:
        pid, role, day, mon, year, hour, minute, second, ms, level, message = found.groups()
    else:
        found = _OLD.fullmatch(text)
        if found is None:
            return None
        pid, day, mon, year, hour, minute, second, ms, level, message = found.groups()
        role = ""
    month = _MONTHS.get(mon)
    if month is None:
        return None
    clock = (int(hour), int(minute), int(second), int(ms or 0) * 1000)
    timestamp = _timestamp(int(year) if year else None, month, int(day), clock, year_hint, zone)
    return None if timestamp is None else RedisLogLine(timestamp, pid, role, level, message)


def _timestamp(
    year: int | None,
    month: int,
    day: int,
    clock: tuple[int, int, int, int],
    year_hint: dt.datetime,
    zone: dt.tzinfo | None,
) -> dt.datetime | None:
    """The line's time; None for a date that does not exist (31 Feb, hour 25)."""
    try:
        if year is not None:
            return dt.datetime(year, month, day, *clock, tzinfo=_zone(zone, year, month, day, clock[0]))
        for guess in (year_hint.year, year_hint.year - 1):
            when = dt.datetime(guess, month, day, *clock, tzinfo=_zone(zone, guess, month, day, clock[0]))
            if when <= year_hint + dt.timedelta(days=1):
                break
    except (ValueError, OverflowError):
        return None
    return when


def _zone(zone: dt.tzinfo | None, year: int, month: int, day: int, hour: int) -> dt.tzinfo:
    return zone if zone is not None else _local_zone(year, month, day, hour)


@functools.lru_cache(maxsize=4096)
def _local_zone(year: int, month: int, day: int, hour: int) -> dt.tzinfo:
    """This machine's UTC offset at that local hour (``astimezone`` is slow: ~50 µs a call;
    clocks change on the hour)."""
    offset = dt.datetime(year, month, day, hour).astimezone().utcoffset()
    return dt.timezone(offset) if offset is not None else dt.UTC
