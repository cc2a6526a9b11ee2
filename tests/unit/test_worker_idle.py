"""An idle worker's threads take turns asking the store for work: however many threads wait,
the store is asked about once per poll period, and a submit's wake-up is not lost."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from managed_redis.operations.worker import Worker
from tests.support.fake_world import make_world


@pytest.mark.parametrize("threads", [1, 4])
def test_idle_threads_take_turns_polling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int) -> None:
    world = make_world(tmp_path)
    worker = Worker(world.db, {}, threads=threads, poll_s=0.05)
    polls: list[str] = []
    lock = threading.Lock()

    def run_one(owner: str) -> bool:
        with lock:
            polls.append(owner)
        return False

    monkeypatch.setattr(worker, "run_one", run_one)
    worker.start()
    time.sleep(1.0)
    worker.stop()
    world.db.dispose()
    # 1 s at one poll per 0.05 s is ~20 polls (each thread on its own would make 20 x threads);
    # the bound leaves room for the start and the stop, never for a poll per thread.
    assert 1 <= len(polls) <= 20 + threads + 2
    if threads > 1:
        assert len(set(polls)) > 1  # turns are taken by whichever thread is free


def test_a_wake_up_is_served_before_the_next_poll(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(tmp_path)
    worker = Worker(world.db, {}, threads=2, poll_s=3600)  # no poll would come in this test's life
    woken = threading.Event()
    calls: list[str] = []

    def run_one(owner: str) -> bool:
        calls.append(owner)
        if len(calls) > 1:
            woken.set()
        return False

    monkeypatch.setattr(worker, "run_one", run_one)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while not calls and time.monotonic() < deadline:  # the first poll, due at start
            time.sleep(0.01)
        worker.notify()
        assert woken.wait(30)
    finally:
        worker.stop()
        world.db.dispose()
