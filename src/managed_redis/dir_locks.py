"""One process at a time inside a directory: several control-plane processes sharing a data dir
make its one-off files (the secret key, the CA, the admin token, certificates) in turn, so that
they all end up with the same ones, whole.

The lock is ``flock`` on the directory itself (no lock file left behind); it is released when
the block ends or the process dies. Not reentrant: a holder must not lock the same directory
again inside the block.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def directory_locked(directory: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``directory`` (created if missing) for the block;
    waits while another process holds it. Raises OSError if the directory cannot be made or opened."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
