"""Host log rotation: when a live file is renamed, which rotated files go, and that none of it
loses a line a reader had not read yet."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from managed_redis.engine.log_files import LogSource
from managed_redis.operations.log_rotation import LogRotation
from managed_redis.services.log_records import LogReader
from managed_redis.settings import Settings

NOW = dt.datetime(2026, 11, 30, 19, 0, 0).astimezone()


def line(when: dt.datetime, text: str) -> str:
    return f"1:M {when:%d %b %Y %H:%M:%S}.000 * {text}\n"


def rotation(data_dir: Path, **settings: float) -> LogRotation:
    return LogRotation(Settings(data_dir=data_dir, **settings), now=NOW.timestamp)  # type: ignore[arg-type]


def host_log(data_dir: Path, name: str = "redis.log") -> Path:
    path = data_dir / "hosts" / "127.0.0.5" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_a_live_file_is_renamed_once_large_enough(tmp_path: Path) -> None:
    path = host_log(tmp_path)
    path.write_text(line(NOW, "x" * 600))
    assert rotation(tmp_path, host_log_rotate_mib=0.001).run_once() == []
    path.write_text(line(NOW, "x" * 2000))
    assert rotation(tmp_path, host_log_rotate_mib=0.001).run_once() == [path.with_name("redis.log.1")]
    assert not path.exists()


def test_a_live_file_is_renamed_once_its_first_line_is_old_enough(tmp_path: Path) -> None:
    path = host_log(tmp_path, "sentinel.log")
    path.write_text(line(NOW - dt.timedelta(hours=2), "old") + line(NOW, "new"))
    assert rotation(tmp_path, host_log_rotate_h=3).run_once() == []
    assert rotation(tmp_path, host_log_rotate_h=1).run_once() == [path.with_name("sentinel.log.1")]
    path.write_text(line(NOW, "next"))
    assert rotation(tmp_path, host_log_rotate_h=1).run_once() == []


def test_rotated_files_go_when_too_old_or_too_many(tmp_path: Path) -> None:
    path = host_log(tmp_path)
    for n, age_days in ((1, 50), (2, 10), (3, 5), (4, 1)):
        rotated = path.with_name(f"redis.log.{n}")
        rotated.write_text(line(NOW, "y" * 400_000))
        stamp = (NOW - dt.timedelta(days=age_days)).timestamp()
        os.utime(rotated, (stamp, stamp))
    rotation(tmp_path, host_log_keep_days=45, host_log_keep_mib=1).run_once()
    assert sorted(p.name for p in path.parent.iterdir()) == ["redis.log.3", "redis.log.4"]


def test_rotating_under_a_reader_loses_no_line(tmp_path: Path) -> None:
    path = host_log(tmp_path)
    reader = LogReader(LogSource("127.0.0.5", "redis", path.parent))
    seen: list[str] = []
    for n in range(50):
        with path.open("a") as handle:  # as Redis does: open, one line, close
            handle.write(line(NOW + dt.timedelta(seconds=n), f"line {n}"))
        if n % 3 == 0:
            rotation(tmp_path, host_log_rotate_mib=0.0001).run_once()
        if n % 7 == 0:
            seen += [entry.message()["message"] for entry in reader.read()]
    seen += [entry.message()["message"] for entry in reader.read()]
    assert seen == [f"line {n}" for n in range(50)]
    assert len(list(path.parent.glob("redis.log.*"))) > 5
