"""Answers already rendered, reused while what they show has not changed.

A read renders a cluster from several rows and the facts the supervisor stored; under many
readers that rendering is most of a request's cost. An answer is kept with the cluster's
``revision`` (bumped by every write that changes what reads show, ``store/clusters.py``)
and reused while the revision is the same and for at most ``ttl_s`` (health also depends
on how old the stored facts are).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

TTL_S = 5.0
SIZE = 4096


class RenderCache(Generic[T]):
    """``seconds`` is the clock ages are measured with (the service's own, so tests move it)."""

    def __init__(self, seconds: Callable[[], float] = time.monotonic, ttl_s: float = TTL_S, size: int = SIZE) -> None:
        self.seconds = seconds
        self.ttl_s = ttl_s
        self.size = size
        self._items: OrderedDict[Hashable, tuple[int, float, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, revision: int) -> T | None:
        """The answer kept for ``key`` at ``revision``, if it is not older than ``ttl_s``."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            kept_revision, at, value = entry
            if kept_revision != revision or self.seconds() - at > self.ttl_s:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, revision: int, value: T) -> None:
        with self._lock:
            self._items[key] = (revision, self.seconds(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
