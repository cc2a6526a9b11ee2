"""The engine's process watch against real processes: a watched process is named by its pid
while it runs, forgotten once it exits, and many are asked about at once."""

from __future__ import annotations

import subprocess

from managed_redis.engine.process import ProcessWatch
from tests.support.server import wait_until


def test_pids_names_the_running_and_forgets_the_exited() -> None:
    watch = ProcessWatch()
    running = subprocess.Popen(["sleep", "60"])
    ending = subprocess.Popen(["sleep", "60"])
    try:
        watch.add("a:1", running.pid)
        watch.add("b:1", ending.pid)
        assert watch.pids(["a:1", "b:1", "unknown:1"]) == {"a:1": running.pid, "b:1": ending.pid, "unknown:1": None}
        ending.kill()
        ending.wait()
        wait_until(lambda: watch.pids(["a:1", "b:1"]) == {"a:1": running.pid, "b:1": None}, timeout_s=5)
        assert watch.pid("b:1") is None and watch.pid("a:1") == running.pid  # forgotten, not just hidden
        assert watch.pids([]) == {}
    finally:
        running.kill()
        running.wait()
