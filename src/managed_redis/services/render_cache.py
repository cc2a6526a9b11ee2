"""Answers already rendered, reused while what they show has not changed.

A read renders a cluster from several rows and the facts the supervisor stored; under many
readers that rendering is most of a request's cost. An answer is kept with the cluster's
``revision`` (bumped by every write that changes what reads show, ``store/clusters.py``)
and reused while the revision is the same and for at most ``ttl_s`` (health also depends
on how old the stored facts are).

When an answer outlives ``ttl_s``, one reader renders it afresh and, meanwhile, the others
get the last answer (at most ``ttl_s`` plus one rendering old): otherwise every reader that
arrives in that moment renders the same clusters at once, and under 200 polling readers that
herd, every ``ttl_s``, was what made List's slowest answers slow (p99 ~2 s of a p50 ~3 ms).
A revision that moved is never answered from before it: a caller reads its own writes.
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
        # key -> when a reader set out to render it afresh (its answer having outlived ttl_s)
        self._refreshing: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, revision: int) -> T | None:
        """The answer kept for ``key`` at ``revision``; None when the caller is to render it:
        none is kept at this revision, or it outlived ``ttl_s`` and no other caller is
        rendering it afresh (one that set out more than ``ttl_s`` ago counts as gone)."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            kept_revision, at, value = entry
            if kept_revision != revision:
                del self._items[key]
                return None
            now = self.seconds()
            if now - at > self.ttl_s:
                since = self._refreshing.get(key)
                if since is None or now - since > self.ttl_s:
                    self._refreshing[key] = now
                    return None
            self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, revision: int, value: T) -> None:
        """Keep ``value`` as the answer for ``key`` at ``revision``, from now."""
        with self._lock:
            self._refreshing.pop(key, None)
            self._items[key] = (revision, self.seconds(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                dropped, _ = self._items.popitem(last=False)
                self._refreshing.pop(dropped, None)
