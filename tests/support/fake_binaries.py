"""Stand-in server binaries for the capability probes' unit tests (``catalog/versions.py``):
a script that prints what a real server says and counts how often it was run."""

from __future__ import annotations

import stat
from pathlib import Path


def fake_server(directory: Path, says: str) -> str:
    """A stand-in binary in ``directory`` that prints ``says`` (as a server's log on stdout),
    exits 1, and appends a line to ``directory/runs`` each time it runs; its path."""
    binary = directory / "server"
    binary.write_text(f"#!/bin/sh\necho run >> '{directory}/runs'\nprintf '%s\\n' '{says}'\nexit 1\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return str(binary)
