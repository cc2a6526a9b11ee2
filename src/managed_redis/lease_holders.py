"""Who holds a lease, told well enough that another process on the same machine can know for
sure that the holder is gone, and take the lease at once instead of waiting it out.

A lease (an operation's in ``operations``, the supervisor's in ``leases``) records its holder:
the machine it runs on, its pid, and when that pid started. The machine is the hostname, the
kernel's boot id and the pid namespace, so that two containers sharing a hostname, or one host
before and after a reboot, are different machines. The start time (clock ticks after boot,
``/proc/<pid>/stat``) tells the holder from a later process that got its pid.

``LeaseHolder.gone`` is True only when the holder is on this very machine and its process is
no more (or is a zombie, or the pid belongs to another process now). A holder elsewhere, or a
machine without ``/proc``, is never judged gone: its lease expires as it always did.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class LeaseHolder:
    """A process that may hold leases: ``machine`` (at most 200 characters), ``pid``, and
    ``started``, the pid's start in clock ticks after boot."""

    machine: str
    pid: int
    started: int

    def gone(self, here: LeaseHolder | None) -> bool:
        """Whether this holder is certainly dead, as seen from ``here`` (this process): only a
        holder on ``here``'s machine is judged, by its pid's start time in ``/proc``."""
        if here is None or self.machine != here.machine:
            return False
        if self.pid == here.pid:
            return self.started != here.started
        return _started(self.pid) != self.started


def _started(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot); None if there is no such live
    process (a zombie counts as none)."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _machine() -> str | None:
    """hostname|boot id|pid namespace; None where /proc does not say (not Linux)."""
    try:
        boot_id = (PROC / "sys/kernel/random/boot_id").read_text().strip()
        pid_namespace = os.stat(PROC / "self/ns/pid").st_ino
    except OSError:
        return None
    return f"{socket.gethostname()[:150]}|{boot_id}|{pid_namespace}"


_current: LeaseHolder | None = None
_current_lock = threading.Lock()


def this_process() -> LeaseHolder | None:
    """This process as a lease holder (made once per process), or None where it cannot be told
    (then leases it holds are only ever taken over once they expire)."""
    global _current
    with _current_lock:
        if _current is None or _current.pid != os.getpid():  # made again in a forked child
            machine, pid = _machine(), os.getpid()
            started = _started(pid)
            _current = None if machine is None or started is None else LeaseHolder(machine, pid, started)
        return _current
