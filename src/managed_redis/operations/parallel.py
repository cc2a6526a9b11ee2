"""Running one step for many hosts at once: a slow host costs its own time, not the sum."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def for_each(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``fn`` over ``items`` in threads; results in order; the first failure is raised."""
    items = list(items)
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(len(items), 16), thread_name_prefix="step") as pool:
        futures = [pool.submit(fn, item) for item in items]
        return [future.result() for future in futures]
