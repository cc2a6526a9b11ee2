"""A clock a test sets by hand, for the schedulers that read ``clock.now()`` (backups,
maintenance), run in the test's process against a real server's database."""

from __future__ import annotations

import datetime as dt


class MovedClock:
    """``now()`` is whatever the test last put in ``current`` (an aware UTC datetime)."""

    def __init__(self, now: dt.datetime) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current
