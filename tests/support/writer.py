"""A client that writes all the time and remembers what was acknowledged.

It finds the master through Sentinel (or a fixed discovery function), sends one SET every
``interval_s`` with a short timeout, and on any error looks for the master again. Afterwards
``lost()`` lists acknowledged writes missing from the final master and ``max_gap_s()`` the
longest time between two acknowledged writes.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import TypedDict, Unpack

import redis
import redis.sentinel


class WriterOptions(TypedDict, total=False):
    """The keyword arguments of ``Writer`` past its discovery function and password."""

    prefix: str
    interval_s: float
    timeout_s: float
    ssl_ca: str | None


class Writer:
    def __init__(
        self,
        discover: Callable[[], tuple[str, int]],
        password: str,
        prefix: str = "w",
        interval_s: float = 0.005,
        timeout_s: float = 0.25,
        ssl_ca: str | None = None,
    ) -> None:
        self.discover = discover
        self.password = password
        self.prefix = prefix
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.ssl_ca = ssl_ca
        self.acked: list[tuple[str, float]] = []
        self.errors = 0
        self.masters_seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @classmethod
    def through_sentinel(
        cls, sentinels: list[tuple[str, int]], name: str, password: str, **options: Unpack[WriterOptions]
    ) -> Writer:
        sentinel = redis.sentinel.Sentinel(sentinels, socket_timeout=0.25, sentinel_kwargs={"socket_timeout": 0.25})

        def discover() -> tuple[str, int]:
            host, port = sentinel.discover_master(name)
            return str(host), int(port)

        return cls(discover, password, **options)

    def _connect(self) -> redis.Redis | None:
        try:
            host, port = self.discover()
        except Exception:
            return None
        if not self.masters_seen or self.masters_seen[-1] != host:
            self.masters_seen.append(host)
        return redis.Redis(
            host=host,
            port=port,
            password=self.password,
            socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
            ssl=self.ssl_ca is not None,
            ssl_ca_certs=self.ssl_ca,
        )

    def _run(self) -> None:
        connection: redis.Redis | None = None
        number = 0
        while not self._stop.is_set():
            if connection is None:
                connection = self._connect()
                if connection is None:
                    time.sleep(0.05)
                    continue
            key = f"{self.prefix}:{number}"
            try:
                connection.set(key, number)
                self.acked.append((key, time.monotonic()))
                number += 1
            except redis.RedisError:
                self.errors += 1
                connection.close()
                connection = None
            time.sleep(self.interval_s)

    def start(self) -> Writer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def max_gap_s(self, since: float = 0.0) -> float:
        times = [t for _, t in self.acked if t >= since]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def lost(self, final_master: redis.Redis) -> list[str]:
        """Acknowledged keys the final master does not have."""
        keys = [key for key, _ in self.acked]
        missing: list[str] = []
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            values = final_master.mget(chunk)
            missing += [key for key, value in zip(chunk, values, strict=True) if value is None]
        return missing
