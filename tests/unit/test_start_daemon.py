"""``process.start_daemon``: every way a launch fails is an EngineError naming the daemon,
never an exception of the subprocess module (which would fail an operation as INTERNAL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from managed_redis.engine import process
from managed_redis.engine.errors import EngineError


def test_a_launcher_that_does_not_return_in_time_is_an_engine_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"sleep for 127\.0\.0\.9:1 was not launched within 0 s"):
        process.start_daemon(["sleep", "5"], tmp_path / "pid", "127.0.0.9:1", timeout_s=0.3)


def test_a_launcher_that_fails_is_an_engine_error_with_its_words(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="sh failed to start: no such config"):
        process.start_daemon(["sh", "-c", "echo no such config >&2; exit 1"], tmp_path / "pid", "127.0.0.9:1")


def test_a_daemon_that_never_writes_its_pidfile_is_reported_gone(tmp_path: Path) -> None:
    log_file = tmp_path / "daemon.log"
    log_file.write_text("earlier line\n")
    script = tmp_path / "daemon.sh"  # its path is what the daemon's command line holds
    script.write_text(f"echo 'Bind failed' >> {log_file}\n")
    with pytest.raises(EngineError, match="exited at start: Bind failed"):
        process.start_daemon(["sh", str(script)], tmp_path / "pid", "127.0.0.9:1", log_file, timeout_s=5)
