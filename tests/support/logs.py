"""Failures that tell what the server did: ``log_on_failure`` adds the tail of the server's
log, as it is when the failure happens, to any AssertionError raised in its block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.server import RunningServer

TAIL = 8000


@contextmanager
def log_on_failure(server: RunningServer) -> Iterator[None]:
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- server log ---\n{server.log()[-TAIL:]}") from exc
