"""Named points where a test can make this process die or hang, to prove that what comes
after survives it: the operation resumes elsewhere, and nothing is done twice.

Off unless ``MREDIS_FAILPOINTS`` names points, as ``name=kill`` (SIGKILL this process, as a
crash would) or ``name=hang`` (stop in place until the process is ended), separated by
commas: ``MREDIS_FAILPOINTS=switchover.promoted=kill``. The points sit where a crash costs
most: between a change to the data plane and the record of it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

log = logging.getLogger(__name__)


def _parse(text: str) -> dict[str, str]:
    points = {}
    for item in text.split(","):
        name, _, action = item.strip().partition("=")
        if name and action in ("kill", "hang"):
            points[name] = action
    return points


_POINTS = _parse(os.environ.get("MREDIS_FAILPOINTS", ""))


def reached(name: str) -> None:
    """Mark that the code got to point ``name``; does nothing unless a test armed it."""
    action = _POINTS.get(name)
    if action is None:
        return
    log.warning("failpoint %s reached: %s", name, action)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Event().wait()
