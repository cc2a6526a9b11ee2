"""RenderCache: answers reused per revision, and an aged answer rendered afresh by one reader
while the others get the last one."""

from __future__ import annotations

from managed_redis.services.render_cache import RenderCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_reused_at_its_revision_only() -> None:
    cache: RenderCache[str] = RenderCache(Clock(), ttl_s=5)
    cache.put("c1", 3, "at 3")
    assert cache.get("c1", 3) == "at 3"
    assert cache.get("c1", 4) is None  # the revision moved: the caller renders
    assert cache.get("c1", 3) is None  # and nothing from before it is answered again
    assert cache.get("other", 1) is None


def test_an_aged_answer_is_rendered_afresh_by_one_reader_while_the_others_get_the_last() -> None:
    clock = Clock()
    cache: RenderCache[str] = RenderCache(clock, ttl_s=5)
    cache.put("c1", 3, "old")
    clock.now += 6
    assert cache.get("c1", 3) is None  # the first reader renders
    assert [cache.get("c1", 3) for _ in range(3)] == ["old"] * 3  # the rest are not held up
    cache.put("c1", 3, "new")
    assert cache.get("c1", 3) == "new"


def test_a_reader_that_never_rendered_is_replaced_after_a_ttl() -> None:
    clock = Clock()
    cache: RenderCache[str] = RenderCache(clock, ttl_s=5)
    cache.put("c1", 3, "old")
    clock.now += 6
    assert cache.get("c1", 3) is None  # this reader fails before its put
    clock.now += 4
    assert cache.get("c1", 3) == "old"
    clock.now += 2
    assert cache.get("c1", 3) is None  # another reader takes it over


def test_a_new_revision_is_never_answered_by_the_aged_one() -> None:
    clock = Clock()
    cache: RenderCache[str] = RenderCache(clock, ttl_s=5)
    cache.put("c1", 3, "old")
    clock.now += 6
    assert cache.get("c1", 3) is None
    assert cache.get("c1", 4) is None


def test_the_oldest_answers_go_beyond_the_size() -> None:
    cache: RenderCache[int] = RenderCache(Clock(), ttl_s=5, size=2)
    for n in range(3):
        cache.put(n, 1, n)
    assert cache.get(0, 1) is None and cache.get(1, 1) == 1 and cache.get(2, 1) == 2
