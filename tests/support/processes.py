"""Finding and killing the Redis processes a test's server started (they outlive it on purpose)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import time
from pathlib import Path


def redis_processes(network: str) -> dict[int, str]:
    """pid -> process title of every redis-server/valkey-server/sentinel serving an address in
    ``network``."""
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
        if ("redis-server" not in title and "valkey-server" not in title) or state == "Z":
            continue
        for word in title.split():
            address = word.rsplit(":", 1)[0]
            try:
                if ipaddress.ip_address(address) in net:
                    found[int(entry.name)] = title
            except ValueError:
                continue
    return found


def kill_all(network: str, timeout_s: float = 10.0) -> int:
    """SIGKILL every process of ``network`` and wait until none is left; how many there were."""
    processes = redis_processes(network)
    for pid in processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    while redis_processes(network) and time.monotonic() < deadline:
        time.sleep(0.02)
    return len(processes)


def pid_of(network: str, address_port: str) -> int:
    """The pid serving ``address:port`` (e.g. ``127.21.0.1:6379``)."""
    for pid, title in redis_processes(network).items():
        if address_port in title.split():
            return pid
    raise LookupError(f"no process serves {address_port}")
