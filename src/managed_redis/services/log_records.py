"""A cluster's log records in time order: each log read from a position, all of them merged,
and the tokens that say where a page (or a stream) goes on.

Records are ordered by (timestamp, log), the log (one host's redis or sentinel log) by a
6-byte id of its host and kind, and within one log by its order in the files. A record's
**position** is its time, its log's id, its file's inode and its byte offset; a token is that
position, opaque (URL-safe base64, 42 characters). Going on after a token reads the token's log
from just after the record, found by inode and offset, and every other log from its first line
that sorts after the record. Lines appended later land after every position given out, so a
token stays good while logs grow and when they rotate (renames keep inodes); ListLogs' page
tokens and StreamLogs' record tokens are the same thing. A log whose clock went back can show a
line twice across a page boundary, never lose one.

A line Redis wrote in its own format becomes a record with ``hostname``, ``pid``, ``role`` and
``message``; any other line (a crash report, a line of a foreign format) is kept as a record of
its ``hostname`` and its whole text as ``message``, timed as the nearest line in Redis's format
before it in its file (or after it, at the start of a file; the file's modification time if it
has none).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import hashlib
import heapq
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from managed_redis.domain.redis_log import RedisLogLine, parse_line
from managed_redis.engine.log_files import LogFile, LogSource, line_start_at_or_after, read_forward
from managed_redis.errors import InvalidArgument

_TOKEN = struct.Struct(">BqQQ6s")
_TOKEN_VERSION = 1
_SEARCH_DOWN_TO = 64 * 1024
_LOOK_BACK = 64 * 1024
Key = tuple[int, bytes]
FilePlace = tuple[int | None, int]  # a file's inode, a byte offset in it
BEFORE_ALL: Key = (-(2**62), b"")


def log_id(source: LogSource) -> bytes:
    """The 6 bytes that order and name ``source`` in positions."""
    return hashlib.sha1(f"{source.host}/{source.kind}".encode()).digest()[:6]


@dataclass(frozen=True)
class Position:
    """Where a record is: its time (ms since the epoch), its log's id, its file and offset."""

    ts_ms: int
    log: bytes
    inode: int
    offset: int

    @property
    def key(self) -> Key:
        return (self.ts_ms, self.log)

    def token(self) -> str:
        packed = _TOKEN.pack(_TOKEN_VERSION, self.ts_ms, self.inode, self.offset, self.log)
        return base64.urlsafe_b64encode(packed).decode().rstrip("=")

    @classmethod
    def of_token(cls, token: str, field_name: str) -> Position:
        """The position ``token`` names; InvalidArgument naming ``field_name`` if it names none."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            version, ts_ms, inode, offset, log = _TOKEN.unpack(raw)
        except (binascii.Error, ValueError, struct.error):
            raise InvalidArgument.field(field_name, "not a token this server issued") from None
        if version != _TOKEN_VERSION:
            raise InvalidArgument.field(field_name, "not a token this server issued")
        return cls(ts_ms, log, inode, offset)

    @classmethod
    def before(cls, ts_ms: int) -> Position:
        """A position just before every record at ``ts_ms`` and after every earlier one."""
        return cls(ts_ms, b"", 0, 0)


@dataclass(frozen=True)
class Entry:
    """One record as read: where it is, its host, and the line (None: kept as ``text``)."""

    position: Position
    host: str
    line: RedisLogLine | None
    text: str

    def message(self) -> dict[str, str]:
        """The record's ``message`` map: hostname, pid, role, message (the text only if unparsed)."""
        if self.line is None:
            return {"hostname": self.host, "message": self.text}
        return {"hostname": self.host, "pid": self.line.pid, "role": self.line.role, "message": self.line.message}


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000 + (0.5 if when.timestamp() >= 0 else -0.5))


def _decode(raw: bytes) -> str:
    return raw.rstrip(b"\r").decode("utf-8", errors="backslashreplace")


@dataclass
class LogReader:
    """Reads one log from a starting point, and on each ``read`` from where it stopped.

    Start: just after ``resume`` when that record is in this log and still there; otherwise the
    first line sorting after ``after`` (BEFORE_ALL: from the first line kept)."""

    source: LogSource
    after: Key = BEFORE_ALL
    resume: Position | None = None
    id: bytes = field(init=False)
    _inode: int | None = field(default=None, init=False)
    _offset: int = field(default=0, init=False)
    _last_ts: int | None = field(default=None, init=False)
    _filtering: bool = field(default=True, init=False)
    _positioned: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.id = log_id(self.source)

    def read(self, until: FilePlace | None = None) -> Iterator[Entry]:
        """Each record from where the last read stopped to the end of the log as it is now, or
        to ``until`` (another reader's ``place`` of this log: the lines before it) when given
        and its file is still listed."""
        files = self.source.files()
        if not self._positioned:
            self._position(files)
        index = next((i for i, f in enumerate(files) if f.inode == self._inode), None)
        if index is None:  # never started, or its file was pruned: go on from the oldest kept
            index, self._offset, self._last_ts = 0, 0, None
        for file in files[index:]:
            if file.inode != self._inode:
                self._inode, self._offset, self._last_ts = file.inode, 0, None
            end = until[1] if until is not None and until[0] == file.inode else None
            yield from self._read_file(file, end)
            if file.live or end is not None:
                return

    @property
    def place(self) -> FilePlace:
        """Where the next ``read`` starts: a file's inode (None: no file yet) and byte offset."""
        return self._inode, self._offset

    @property
    def skipping(self) -> Key | None:
        """While no record has passed ``after`` yet: ``after`` (records not after it are not
        this reader's); None once one has."""
        return self.after if self._filtering else None

    def detached(self) -> LogReader:
        """A reader that goes on from where this one stands, whatever its ``after``, alone."""
        twin = copy.copy(self)
        twin._filtering = False
        return twin

    def _read_file(self, file: LogFile, end: int | None = None) -> Iterator[Entry]:
        year_hint = dt.datetime.fromtimestamp(file.mtime, dt.UTC)
        pending: list[tuple[int, str]] = []  # unparsed lines at a file's start, before any time is known
        for offset, raw in read_forward(file, self._offset, end):
            text = _decode(raw)
            line = parse_line(text, year_hint)
            self._offset = offset + len(raw) + 1
            if line is None and self._last_ts is None:
                pending.append((offset, text))
                continue
            if line is not None:
                self._last_ts = _ms(line.timestamp)
            assert self._last_ts is not None
            for pending_offset, pending_text in pending:
                yield from self._entry(file, pending_offset, self._last_ts, None, pending_text)
            pending.clear()
            yield from self._entry(file, offset, self._last_ts, line, text)
        if pending and not file.live and end is None:
            for pending_offset, pending_text in pending:
                yield from self._entry(file, pending_offset, int(file.mtime * 1000), None, pending_text)
        elif pending:
            self._offset = pending[0][0]  # read them again once a timed line follows

    def _entry(self, file: LogFile, offset: int, ts_ms: int, line: RedisLogLine | None, text: str) -> Iterator[Entry]:
        if self._filtering:
            if (ts_ms, self.id) <= self.after:
                return
            self._filtering = False
        yield Entry(Position(ts_ms, self.id, file.inode, offset), self.source.host, line, text)

    # -- where to start -----------------------------------------------------------------------------

    def _position(self, files: list[LogFile]) -> None:
        self._positioned = True
        if self.resume is not None and self.resume.log == self.id and self._resume_at(files, self.resume):
            return
        if self.after == BEFORE_ALL:
            return
        for file in files:
            offset = _first_after(file, self.after, self.id)
            if offset < file.size or file.live:
                self._inode, self._offset = file.inode, offset
                self._last_ts = _time_before(file, offset)
                return
        self._inode, self._offset = None, 0

    def _resume_at(self, files: list[LogFile], resume: Position) -> bool:
        file = next((f for f in files if f.inode == resume.inode), None)
        if file is None:
            return False
        year_hint = dt.datetime.fromtimestamp(file.mtime, dt.UTC)
        for offset, raw in read_forward(file, resume.offset):
            line = parse_line(_decode(raw), year_hint)
            if line is None and line_start_at_or_after(file, offset) != offset:
                return False  # not a line's start: another file got the inode
            if line is not None and _ms(line.timestamp) != resume.ts_ms:
                return False  # not the record the token names: another file got the inode
            self._inode, self._offset, self._last_ts = file.inode, offset + len(raw) + 1, resume.ts_ms
            self._filtering = False
            return True
        return False


def parsed_ms(raw: bytes, year_hint: dt.datetime) -> int | None:
    line = parse_line(_decode(raw), year_hint)
    return None if line is None else _ms(line.timestamp)


def _first_after(file: LogFile, after: Key, log: bytes) -> int:
    """The offset of the first line of ``file`` sorting after ``after`` (its size if none),
    by bisection while the stretch is large, then by reading it line by line."""
    year_hint = dt.datetime.fromtimestamp(file.mtime, dt.UTC)
    low, high = 0, file.size
    while high - low > _SEARCH_DOWN_TO:
        middle = line_start_at_or_after(file, (low + high) // 2)
        probe = next(
            ((o, r, ms) for o, r in read_forward(file, middle, high) if (ms := parsed_ms(r, year_hint)) is not None),
            None,
        )
        if probe is None:
            break
        offset, raw, ms = probe
        if (ms, log) > after:
            high = offset
        else:
            low = offset + len(raw) + 1
    untimed: int | None = None  # the first of the unparsed lines before any timed one
    last: int | None = None
    for offset, raw in read_forward(file, low):
        ms = parsed_ms(raw, year_hint)
        if ms is None:
            if last is None and untimed is None:
                untimed = offset
            elif last is not None and (last, log) > after:
                return offset
            continue
        if (ms, log) > after:
            return untimed if untimed is not None and last is None else offset
        last, untimed = ms, None
    return file.size


def _time_before(file: LogFile, offset: int) -> int | None:
    """The time of the last line in Redis's format before ``offset`` (within 64 KiB), or None."""
    year_hint = dt.datetime.fromtimestamp(file.mtime, dt.UTC)
    found = None
    for _, raw in read_forward(file, line_start_at_or_after(file, offset - _LOOK_BACK), offset):
        found = parsed_ms(raw, year_hint) or found
    return found


def merged(readers: Iterable[LogReader]) -> Iterator[Entry]:
    """The records of every reader, in (time, log) order (each log in its own file order)."""
    return (entry for _, entry in heapq.merge(*(_keyed(r) for r in readers), key=lambda pair: pair[0]))


def _keyed(reader: LogReader) -> Iterator[tuple[tuple[int, bytes, int], Entry]]:
    for n, entry in enumerate(reader.read()):
        yield (entry.position.ts_ms, entry.position.log, n), entry
