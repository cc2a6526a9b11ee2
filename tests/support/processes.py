"""Finding and killing the Redis processes a test's server started (they outlive it on purpose)."""

from __future__ import annotations

import ipaddress
import os
import signal
from pathlib import Path


def redis_processes(network: str) -> dict[int, str]:
    """pid -> process title of every redis-server/sentinel serving an address in ``network``."""
    net = ipaddress.ip_network(network)
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if "redis-server" not in title or state == "Z":
            continue
        for word in title.split():
            address = word.rsplit(":", 1)[0]
            try:
                if ipaddress.ip_address(address) in net:
                    found[int(entry.name)] = title
            except ValueError:
                continue
    return found


def kill_all(network: str) -> int:
    processes = redis_processes(network)
    for pid in processes:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(processes)


def pid_of(network: str, marker: str) -> int | None:
    for pid, title in redis_processes(network).items():
        if marker in title:
            return pid
    return None
