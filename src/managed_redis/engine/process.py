"""Detached processes found again from their pidfiles, so they outlive the control plane.

Redis and Sentinel daemonize themselves (``daemonize yes``) and write their pidfile; the
launching call returns once the daemon is up. A pid counts as ours only while
``/proc/<pid>/cmdline`` still names the address it serves (pids get reused) and the
process is not a zombie (an orphan's parent may never reap it).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from managed_redis.engine.errors import EngineError


def read_pid(pidfile: Path) -> int | None:
    """The pid written in ``pidfile``, or None if it is missing or holds no number. Raises OSError
    if it exists but cannot be read."""
    try:
        text = pidfile.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return int(text) if text.isdigit() else None


def state_letter(pid: int) -> str | None:
    """The process's state letter from ``/proc/<pid>/stat`` (R, S, D, T, Z, ...), None if gone."""
    return _state(pid)


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
    """The pid in ``pidfile`` if that process is alive and its command line holds ``marker``.
    Raises OSError if the pidfile exists but cannot be read."""
    pid = read_pid(pidfile)
    if pid is None:
        return None
    state = _state(pid)
    if state is None or state in ("Z", "X"):
        return None
    return pid if marker in _cmdline(pid) else None


def find_by_markers(markers: set[str]) -> dict[str, int]:
    """marker -> pid of every live process whose command line holds one of ``markers``.

    One pass over ``/proc`` (about 40 µs per process on the machine): for the rare process
    whose pidfile is gone, never for every host on every pass.
    """
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        words = set(_cmdline(pid).split())
        for hit in words & markers:
            if _state(pid) not in (None, "Z", "X"):
                found[hit] = pid
    return found


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


# The scheduling priority (niceness) daemons start with: the one this process had before it
# raised its own (``run_ahead``), so that the control plane, not Redis, gets ahead.
_DAEMON_NICENESS = os.getpriority(os.PRIO_PROCESS, 0)


def run_ahead(niceness: int) -> bool:
    """Give this process a higher scheduling priority than the daemons it starts (which keep
    the one it had); False where that is not allowed (not root)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    except OSError:
        return False
    return True


# How long a daemon may take to start: its launcher to fork and exit, then the daemon to
# write its pidfile. A daemon that fails exits at once and is reported then; this bound is
# for a machine too busy to schedule it: with 150 clusters submitted at once (load average
# ~145 on 2 cores) the launcher of a redis-server alone took over 10 s to return.
START_TIMEOUT_S = 60.0


def start_daemon(
    argv: list[str], pidfile: Path, marker: str, log_file: Path | None = None, timeout_s: float = START_TIMEOUT_S
) -> int:
    """Run a self-daemonizing command and wait until its pidfile names a live process.

    Redis writes its pidfile only once it listens; a daemon that dies before that (say, its
    address is taken) is noticed by its absence and reported with its last log line.
    Raises EngineError (with the daemon's last log line) if the command fails or does not
    return within ``timeout_s``, the daemon exits before its pidfile, or it is not up within
    ``timeout_s`` of its launcher's return; OSError if the binary cannot be run.
    """
    pidfile.unlink(missing_ok=True)
    log_offset = log_file.stat().st_size if log_file is not None and log_file.exists() else 0
    lower = _DAEMON_NICENESS - os.getpriority(os.PRIO_PROCESS, 0)
    command = ["nice", "-n", str(lower), *argv] if lower else argv
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise EngineError(
            f"{Path(argv[0]).name} for {marker} was not launched within {timeout_s:.0f} s: the machine is too busy"
        ) from exc
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
    """Whether ``pid`` is gone (or a zombie) within ``timeout_s``. Never raises."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = _state(pid)
        if state is None or state in ("Z", "X"):
            return True
        time.sleep(0.01)
    return False


def terminate(pid: int, timeout_s: float = 30.0) -> None:
    """SIGTERM ``pid`` (Redis saves and exits on it), then SIGKILL after ``timeout_s``.
    Raises PermissionError if ``pid`` is not this user's."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not wait_gone(pid, timeout_s):
        kill(pid)


def kill(pid: int, timeout_s: float = 10.0) -> bool:
    """SIGKILL ``pid`` (stopped processes die too) and wait until it is gone; False if it lingers.
    Raises PermissionError if ``pid`` is not this user's."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    return wait_gone(pid, timeout_s)


_SYS_PIDFD_GETFD = 438  # the same number on every architecture (asm-generic, Linux >= 5.6)


def shut_sockets(pid: int) -> int:
    """Shut every TCP socket of ``pid``, listeners included, without touching the process;
    returns how many. Raises PermissionError if this process may not reach its descriptors.

    This fences a process stopped by a signal, which SIGKILL would take from whoever stopped
    it: its clients get end-of-file at once (a pending write is never acknowledged), a client
    trying again is refused, and when it resumes it can neither read requests already queued
    nor answer them. Each descriptor is borrowed with ``pidfd_getfd(2)``; shutting a borrowed
    socket shuts the one the process holds.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    shut = 0
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                    continue
            except OSError:
                continue
            borrowed = libc.syscall(_SYS_PIDFD_GETFD, pidfd, int(name), 0)
            if borrowed < 0:
                code = ctypes.get_errno()
                if code in (errno.EPERM, errno.EACCES, errno.ENOSYS):
                    raise PermissionError(code, f"pidfd_getfd on pid {pid}: {os.strerror(code)}")
                continue  # the descriptor closed meanwhile
            sock = socket.socket(fileno=borrowed)
            try:
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                        shut += 1
            finally:
                sock.close()
    finally:
        os.close(pidfd)
    return shut


def _readable(fd: int) -> bool:
    """Whether ``fd`` is readable now (poll, not select: descriptors run past 1024 here)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class ProcessWatch:
    """Processes the engine started or found, each held by a pidfd (Linux >= 5.3).

    A pidfd names one process for its whole life, so a reused pid can never be mistaken for
    it, and it becomes readable when the process exits: ``alive`` costs no ``/proc`` read,
    and ``wait_exit`` sleeps until any watched process ends (the supervisor's wake-up).
    Thread-safe: workers add processes while the supervisor waits.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_marker: dict[str, tuple[int, int]] = {}  # marker -> (pid, pidfd)
        self._by_fd: dict[int, str] = {}
        self._epoll = select.epoll()

    def add(self, marker: str, pid: int) -> None:
        """Watch ``pid`` as the process of ``marker`` (replacing whatever was watched for it).
        Never raises: a process already gone is not watched."""
        try:
            fd = os.pidfd_open(pid)
        except (ProcessLookupError, OSError):
            return
        with self._lock:
            self._discard(marker)
            self._by_marker[marker] = (pid, fd)
            self._by_fd[fd] = marker
            self._epoll.register(fd, select.EPOLLIN)

    def pid(self, marker: str) -> int | None:
        """The watched pid of ``marker`` if that process still runs, else None.
        Never raises."""
        with self._lock:
            entry = self._by_marker.get(marker)
            if entry is None:
                return None
            pid, fd = entry
            if _readable(fd):  # it exited
                self._discard(marker)
                return None
            return pid

    def pids(self, markers: Iterable[str]) -> dict[str, int | None]:
        """``pid`` of many markers, for one ``poll`` of all their pidfds: marker -> the
        watched pid if that process still runs, else None. Never raises."""
        with self._lock:
            entries = {marker: self._by_marker.get(marker) for marker in markers}
            poller = select.poll()
            for entry in entries.values():
                if entry is not None:
                    poller.register(entry[1], select.POLLIN)
            exited = {fd for fd, _ in poller.poll(0)}
            found: dict[str, int | None] = {}
            for marker, entry in entries.items():
                if entry is not None and entry[1] in exited:
                    self._discard(marker)
                    entry = None
                found[marker] = entry[0] if entry is not None else None
            return found

    def forget(self, marker: str) -> None:
        """Stop watching ``marker``'s process. Never raises."""
        with self._lock:
            self._discard(marker)

    def wait_exit(self, timeout_s: float) -> list[str]:
        """Sleep until a watched process exits or ``timeout_s`` passes; the markers that exited.
        Never raises."""
        events = self._epoll.poll(max(timeout_s, 0))
        with self._lock:
            exited = [self._by_fd[fd] for fd, _ in events if fd in self._by_fd]
            for marker in exited:
                self._discard(marker)
        return exited

    def _discard(self, marker: str) -> None:
        entry = self._by_marker.pop(marker, None)
        if entry is None:
            return
        _, fd = entry
        self._by_fd.pop(fd, None)
        with contextlib.suppress(OSError, ValueError):
            self._epoll.unregister(fd)
        os.close(fd)

    def close(self) -> None:
        """Stop watching everything and close the epoll. Never raises."""
        with self._lock:
            for marker in list(self._by_marker):
                self._discard(marker)
            self._epoll.close()
