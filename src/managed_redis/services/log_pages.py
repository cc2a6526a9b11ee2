"""One page of ListLogs: the records after a token in time order, or before it newest first.

Oldest first is one merged read from the token (``LogQuery.readers``). Newest first reads
time windows back from the token (or from the newest line), each wider than the last,
until a window holds more than a page or reaches the oldest line kept: logs are read
forward only.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable

from managed_redis.engine.log_files import LogSource, line_start_at_or_after, read_forward
from managed_redis.services.log_query import LogQuery
from managed_redis.services.log_records import Entry, LogReader, Position, merged, parsed_ms

_FIRST_WINDOW_MS = 60_000
_TAIL_BYTES = 64 * 1024


def oldest_first(query: LogQuery, size: int) -> tuple[list[Entry], bool]:
    """Up to ``size`` records after the query's start; and whether more follow now."""
    page: list[Entry] = []
    for entry in merged(query.readers()):
        if not query.in_bounds(entry):
            return page, False
        if len(page) == size:
            return page, True
        page.append(entry)
    return page, False


def newest_first(query: LogQuery, size: int) -> tuple[list[Entry], bool]:
    """Up to ``size`` records before the query's start (or the newest), newest first; and
    whether older ones remain."""
    bound = query.start
    if bound is not None:
        top = bound.ts_ms + 1
    elif query.to_ms is not None:
        top = query.to_ms
    else:
        top = max((_edge_ms(source, newest=True) for source in query.sources), default=0) + 1
    floor = query.from_ms if query.from_ms is not None else _oldest_ms(query.sources)
    width = _FIRST_WINDOW_MS
    while True:
        low = max(top - width, floor)
        kept: deque[Entry] = deque(maxlen=size + 1)
        readers = [LogReader(source, after=Position.before(low).key) for source in query.sources]
        for entry in merged(readers):
            if bound is not None and (entry.position == bound or entry.position.key > bound.key):
                break
            if entry.position.ts_ms >= top or not query.in_bounds(entry):
                break
            kept.append(entry)
        if len(kept) > size or low <= floor:
            newest = list(reversed(kept))
            return newest[:size], len(newest) > size
        width *= 8


def _oldest_ms(sources: Iterable[LogSource]) -> int:
    return min((_edge_ms(source, newest=False) for source in sources), default=0)


def _edge_ms(source: LogSource, newest: bool) -> int:
    """The time of the first line of the oldest file, or of the last line of the newest one (0: none)."""
    files = source.files()
    ordered = reversed(files) if newest else iter(files)
    for file in ordered:
        year_hint = dt.datetime.fromtimestamp(file.mtime, dt.UTC)
        start = line_start_at_or_after(file, file.size - _TAIL_BYTES) if newest else 0
        found: int | None = None
        for _, raw in read_forward(file, start):
            found = parsed_ms(raw, year_hint) or found
            if found is not None and not newest:
                return found
        if found is not None:
            return found
    return 0
