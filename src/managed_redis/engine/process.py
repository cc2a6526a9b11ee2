"""Detached processes found again from their pidfiles, so they outlive the control plane.

Redis and Sentinel daemonize themselves (``daemonize yes``) and write their pidfile; the
launching call returns once the daemon is up. A pid counts as ours only while
``/proc/<pid>/cmdline`` still names the address it serves (pids get reused) and the
process is not a zombie (an orphan's parent may never reap it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from managed_redis.engine.errors import EngineError


def read_pid(pidfile: Path) -> int | None:
    try:
        text = pidfile.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return int(text) if text.isdigit() else None


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The state letter follows the parenthesized command name, which may contain spaces.
    return stat.rsplit(")", 1)[1].split()[0]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def live_pid(pidfile: Path, marker: str) -> int | None:
    """The pid in ``pidfile`` if that process is alive and its command line holds ``marker``."""
    pid = read_pid(pidfile)
    if pid is None:
        return None
    state = _state(pid)
    if state is None or state in ("Z", "X"):
        return None
    return pid if marker in _cmdline(pid) else None


def any_process_with(*markers: str) -> bool:
    """Whether a live process's command line holds one of ``markers`` (a daemon before its pidfile)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        cmdline = _cmdline(int(entry.name))
        if any(marker in cmdline for marker in markers) and _state(int(entry.name)) not in ("Z", "X"):
            return True
    return False


def _last_line(log_file: Path | None, offset: int) -> str:
    if log_file is None or not log_file.exists():
        return ""
    with log_file.open("rb") as handle:
        handle.seek(offset)
        lines = [line.strip() for line in handle.read().decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def start_daemon(
    argv: list[str], pidfile: Path, marker: str, log_file: Path | None = None, timeout_s: float = 10.0
) -> int:
    """Run a self-daemonizing command and wait until its pidfile names a live process.

    Redis writes its pidfile only once it listens; a daemon that dies before that (say, its
    address is taken) is noticed by its absence and reported with its last log line.
    """
    pidfile.unlink(missing_ok=True)
    log_offset = log_file.stat().st_size if log_file is not None and log_file.exists() else 0
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    name = Path(argv[0]).name
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise EngineError(f"{name} failed to start: {' / '.join(detail) or result.returncode}")
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        pid = live_pid(pidfile, marker)
        if pid is not None:
            return pid
        # Until it names itself after its address, the daemon's command line holds its config file.
        if time.monotonic() - started > 0.2 and not any_process_with(marker, *argv[1:2]):
            last = _last_line(log_file, log_offset) or "no log line"
            raise EngineError(f"{name} for {marker} exited at start: {last} (see {log_file})")
        time.sleep(0.005)
    raise EngineError(f"{name} for {marker} did not come up within {timeout_s:.0f} s (see {log_file})")


def wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = _state(pid)
        if state is None or state in ("Z", "X"):
            return True
        time.sleep(0.01)
    return False


def terminate(pidfile: Path, marker: str, timeout_s: float = 30.0) -> None:
    """SIGTERM the process (Redis saves and exits on it), then SIGKILL after ``timeout_s``."""
    pid = live_pid(pidfile, marker)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not wait_gone(pid, timeout_s):
        kill(pidfile, marker)


def kill(pidfile: Path, marker: str) -> None:
    pid = live_pid(pidfile, marker)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_gone(pid, 10.0)
