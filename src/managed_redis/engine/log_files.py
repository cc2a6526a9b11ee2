"""A host's log files on disk: which there are, reading their lines by byte offset, rotating them.

Each host directory holds ``redis.log`` (redis-server) and, where a Sentinel runs,
``sentinel.log``; rotation renames the live file to ``<name>.<n>`` (``n`` counting up, the
highest the newest). Redis opens its log file for each line it writes (``fopen(logfile, "a")``,
one ``fprintf``, ``fclose`` in ``serverLogRaw``), so a rename loses nothing and needs no
signal or restart: a line being written as the file is renamed ends up whole in the renamed
file, and the next line creates the live file again.

A file is known by its inode, which a rename keeps: an offset in it stays good for as long as
the file exists, whatever its name becomes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

LOG_NAMES = {"redis": "redis.log", "sentinel": "sentinel.log"}
_BLOCK = 256 * 1024


@dataclass(frozen=True)
class LogFile:
    """One file of a log as it was when listed; ``live``: the one Redis writes to now."""

    path: Path
    inode: int
    size: int
    mtime: float
    live: bool


@dataclass(frozen=True)
class LogSource:
    """One log of one host: ``kind`` ``redis`` or ``sentinel``, in ``directory``."""

    host: str
    kind: str
    directory: Path

    @property
    def live_path(self) -> Path:
        return self.directory / LOG_NAMES[self.kind]

    def rotated_paths(self) -> list[tuple[int, Path]]:
        """(n, path) of each rotated file, oldest first. Raises nothing (a missing directory has none)."""
        prefix = LOG_NAMES[self.kind] + "."
        try:
            names = os.listdir(self.directory)
        except OSError:
            return []
        numbered = [(int(name[len(prefix) :]), name) for name in names if name.startswith(prefix)]
        return sorted((n, self.directory / name) for n, name in numbered if str(n) == name[len(prefix) :])

    def files(self) -> list[LogFile]:
        """Every file of this log, oldest first, the live one last; files that vanish while
        listed are left out. Raises nothing."""
        found = [_stat(path, live=False) for _, path in self.rotated_paths()]
        found.append(_stat(self.live_path, live=True))
        return [file for file in found if file is not None]


def _stat(path: Path, live: bool) -> LogFile | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return LogFile(path, st.st_ino, st.st_size, st.st_mtime, live)


def read_forward(file: LogFile, start: int, end: int | None = None) -> Iterator[tuple[int, bytes]]:
    """(offset, line without its newline) of each whole line starting in ``[start, end)``
    (``end`` None: to the end of the file as it is now). A last line with no newline yet is
    left for later, unless the file is not the live one any more. ``start`` must be a line's
    start. Opens by path and checks the inode: yields nothing if the file is gone or another."""
    handle = _open(file)
    if handle is None:
        return
    with handle:
        handle.seek(start)
        offset, rest = start, b""
        while end is None or offset < end:  # offset: where the line in ``rest`` starts
            block = handle.read(_BLOCK if end is None else max(4096, min(_BLOCK, end - offset - len(rest))))
            if not block:
                break
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if end is not None and offset >= end:
                    return
                yield offset, line
                offset += len(line) + 1
        if rest and not file.live and (end is None or offset < end):
            yield offset, rest


def line_start_at_or_after(file: LogFile, position: int) -> int:
    """The offset of the first line starting at or after ``position`` (the file's size if none)."""
    if position <= 0:
        return 0
    handle = _open(file)
    if handle is None:
        return file.size
    with handle:
        handle.seek(position - 1)
        while True:
            block = handle.read(4096)
            if not block:
                return file.size
            newline = block.find(b"\n")
            if newline >= 0:
                return position + newline
            position += len(block)


def _open(file: LogFile) -> BinaryIO | None:
    """``file`` opened for reading, found again by its inode if it was renamed since it was listed."""
    handle = _open_if(file.path, file.inode)
    if handle is not None:
        return handle
    base = file.path.name.split(".log", 1)[0] + ".log"
    try:
        names = [name for name in os.listdir(file.path.parent) if name.startswith(base)]
    except OSError:
        return None
    for name in names:
        handle = _open_if(file.path.parent / name, file.inode)
        if handle is not None:
            return handle
    return None


def _open_if(path: Path, inode: int) -> BinaryIO | None:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError:
        return None
    if os.fstat(handle.fileno()).st_ino != inode:
        handle.close()
        return None
    return handle


def rotate(source: LogSource) -> Path | None:
    """Rename the live file to the next ``<name>.<n>``; None when there is no live file.
    Raises OSError (other than the file being gone)."""
    number = max((n for n, _ in source.rotated_paths()), default=0) + 1
    target = source.directory / f"{LOG_NAMES[source.kind]}.{number}"
    try:
        os.rename(source.live_path, target)
    except FileNotFoundError:
        return None
    return target


def remove(path: Path) -> None:
    """Delete a rotated file. Never raises (a file already gone is fine)."""
    with contextlib.suppress(OSError):
        path.unlink()
