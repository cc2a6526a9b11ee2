"""Rotating and pruning every host's log files, on a period, so logs keep weeks in little disk.

For each host directory on disk (those of running, stopped and not yet removed hosts alike),
and each of its logs (``redis.log``, ``sentinel.log``): the live file is renamed to the next
``<name>.<n>`` once it reaches ``host_log_rotate_mib`` or its first line is
``host_log_rotate_h`` old; a renamed file goes once its last write is ``host_log_keep_days``
old, and the oldest go while one log's renamed files pass ``host_log_keep_mib`` in all. Redis
reopens its log file for every line, so a rename loses no line and needs no restart
(``engine/log_files.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from managed_redis.dir_locks import directory_locked
from managed_redis.domain.redis_log import parse_line
from managed_redis.engine.log_files import LOG_NAMES, LogFile, LogSource, read_forward, remove, rotate
from managed_redis.operations.periodic import PeriodicTask
from managed_redis.settings import Settings

log = logging.getLogger(__name__)
_MIB = 1024 * 1024
_FIRST_LINES = 64 * 1024  # how far into a file its first line in Redis's format is looked for


class LogRotation(PeriodicTask):
    name = "log-rotation"

    def __init__(self, settings: Settings, now: Callable[[], float] = time.time) -> None:
        super().__init__(settings.host_log_period_s)
        self.settings = settings
        self.now = now
        # inode of a live file -> when its first line was written (None: no line in Redis's
        # format yet, looked at again next pass); the first line of a file never changes.
        self._started: dict[int, float | None] = {}

    def run_once(self) -> list[Path]:
        """Rotate and prune every host's logs once; the rotated files written. Raises nothing but
        OSError when the hosts' directory cannot be made or locked.

        One process at a time (control-plane replicas sharing the hosts' directory): two that
        rotated one log at once would both rename to the same next name, the second over the first."""
        with directory_locked(self.settings.hosts_dir):
            return self._pass()

    def _pass(self) -> list[Path]:
        written = []
        sources = host_logs(self.settings.hosts_dir)
        for source in sources:
            try:
                target = self.rotate_if_due(source)
                self.prune(source)
            except OSError as exc:
                log.warning("cannot rotate %s: %s", source.live_path, exc)
                continue
            if target is not None:
                written.append(target)
        if len(self._started) > 4 * len(sources) + 100:
            self._started.clear()
        return written

    def rotate_if_due(self, source: LogSource) -> Path | None:
        """Rename the live file if it is large or old enough; the new name, or None. Raises OSError."""
        live = next((file for file in source.files() if file.live), None)
        if live is None or live.size == 0:
            return None
        started = self._started.get(live.inode)
        if started is None:
            started = self._started[live.inode] = _first_line_time(live)
        old = started is not None and self.now() - started >= self.settings.host_log_rotate_h * 3600
        if live.size < self.settings.host_log_rotate_mib * _MIB and not old:
            return None
        return rotate(source)

    def prune(self, source: LogSource) -> None:
        """Delete rotated files past the age or the total size kept."""
        rotated = [file for file in source.files() if not file.live]
        oldest_kept = self.now() - self.settings.host_log_keep_days * 86400
        total = sum(file.size for file in rotated)
        for file in rotated:  # oldest first
            if file.mtime < oldest_kept or total > self.settings.host_log_keep_mib * _MIB:
                remove(file.path)
                total -= file.size


def host_logs(hosts_dir: Path) -> list[LogSource]:
    """Every log of every host directory under ``hosts_dir``. Raises nothing."""
    try:
        names = sorted(os.listdir(hosts_dir))
    except OSError:
        return []
    return [LogSource(name, kind, hosts_dir / name) for name in names for kind in LOG_NAMES]


def _first_line_time(file: LogFile) -> float | None:
    """When the file's first line in Redis's format was written (epoch seconds), or None."""
    year_hint = dt.datetime.fromtimestamp(file.mtime, dt.UTC)
    for _, raw in read_forward(file, 0, _FIRST_LINES):
        line = parse_line(raw.decode("utf-8", errors="replace"), year_hint)
        if line is not None:
            return line.timestamp.timestamp()
    return None
