"""StreamLogs' follower: the records there are, then new ones as written; one watcher for all
followers; the stream ends when its cluster is gone, and a follower that stops is forgotten."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.domain.log_filter import LogFilter
from managed_redis.engine.log_files import LogFile, LogSource, read_forward
from managed_redis.services import log_follow, log_records
from managed_redis.services.log_follow import LogWatcher
from managed_redis.services.log_query import LogQuery

NOW = dt.datetime(2026, 11, 30, 19, 0, 0)


def write(path: Path, second: int, text: str) -> None:
    when = NOW + dt.timedelta(seconds=second)
    with path.open("a") as handle:
        handle.write(f"1:M {when:%d %b %Y %H:%M:%S}.000 * {text}\n")


def text(record: service_pb.StreamLogRecord) -> str:
    return record.record.message["message"]


def test_followers_get_new_lines_and_end_when_their_cluster_is_gone(tmp_path: Path) -> None:
    source = LogSource("h", "redis", tmp_path)
    write(source.live_path, 0, "before")
    clusters = {"c1"}
    watcher = LogWatcher(lambda ids: clusters & set(ids), period_s=0.01, check_every=2)
    query = LogQuery((source,), LogFilter(), (), None, None, None, False)

    async def scenario() -> None:
        streams = [watcher.follow("c1", query) for _ in range(3)]
        assert [text(await anext(stream)) for stream in streams] == ["before"] * 3
        pending = [asyncio.ensure_future(anext(stream)) for stream in streams]
        await wait_for_followers(watcher, 3)
        assert not any(task.done() for task in pending)
        write(source.live_path, 1, "after")
        assert [text(record) for record in await asyncio.wait_for(asyncio.gather(*pending), 10)] == ["after"] * 3

        await streams[0].aclose()  # a client that goes
        assert watcher.followers == 2
        clusters.clear()  # the cluster is deleted
        for stream in streams[1:]:
            assert await asyncio.wait_for(anext(stream, None), 10) is None
        assert watcher.followers == 0

    asyncio.run(scenario())


def test_with_to_time_the_stream_ends_after_the_records_before_it(tmp_path: Path) -> None:
    source = LogSource("h", "redis", tmp_path)
    for second in range(3):
        write(source.live_path, second, f"line {second}")
    to_ms = int((NOW + dt.timedelta(seconds=2)).astimezone().timestamp() * 1000)
    query = LogQuery((source,), LogFilter(), ("message",), None, to_ms, None, False)
    watcher = LogWatcher(lambda ids: set(ids))

    async def collect() -> list[service_pb.StreamLogRecord]:
        return [record async for record in watcher.follow("c1", query)]

    records = asyncio.run(collect())
    assert [text(record) for record in records] == ["line 0", "line 1"]
    assert all(set(record.record.message) == {"message"} and record.next_record_token for record in records)


def test_a_follower_whose_client_goes_while_it_waits_is_forgotten(tmp_path: Path) -> None:
    source = LogSource("h", "redis", tmp_path)
    write(source.live_path, 0, "before")
    watcher = LogWatcher(lambda ids: set(ids), period_s=0.01)
    query = LogQuery((source,), LogFilter(), (), None, None, None, False)

    async def scenario() -> None:
        stream = watcher.follow("c1", query)
        assert text(await anext(stream)) == "before"
        waiting = asyncio.ensure_future(anext(stream))
        await wait_for_followers(watcher, 1)
        waiting.cancel()  # what gRPC does to the handler when its client goes
        await asyncio.gather(waiting, return_exceptions=True)
        assert watcher.followers == 0

    asyncio.run(scenario())


def test_each_change_is_read_once_whatever_the_number_of_followers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = LogSource("h", "redis", tmp_path)
    write(source.live_path, 0, "before")
    watcher = LogWatcher(lambda ids: set(ids), period_s=0.01)
    query = LogQuery((source,), LogFilter(), (), None, None, None, False)
    reads: list[int] = []

    def counted(file: LogFile, start: int, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        reads.append(start)
        return read_forward(file, start, end)

    monkeypatch.setattr(log_records, "read_forward", counted)

    async def scenario() -> None:
        streams = [watcher.follow("c1", query) for _ in range(5)]
        assert [text(await anext(stream)) for stream in streams] == ["before"] * 5
        pending = [asyncio.ensure_future(anext(stream)) for stream in streams]
        await wait_for_followers(watcher, 5)
        reads.clear()
        for second in (1, 2, 3):
            write(source.live_path, second, f"line {second}")
            records = await asyncio.wait_for(asyncio.gather(*pending), 10)
            assert [text(record) for record in records] == [f"line {second}"] * 5
            pending = [asyncio.ensure_future(anext(stream)) for stream in streams]
        assert len(reads) == 3  # one read of the file per line written, not one per follower
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        assert watcher.followers == 0

    asyncio.run(scenario())


def test_a_follower_that_falls_far_behind_still_gets_every_line_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_follow, "_MAX_QUEUED", 3)
    source = LogSource("h", "redis", tmp_path)
    write(source.live_path, 0, "before")
    watcher = LogWatcher(lambda ids: set(ids), period_s=0.01)
    query = LogQuery((source,), LogFilter(), (), None, None, None, False)

    async def scenario() -> None:
        slow, quick = watcher.follow("c1", query), watcher.follow("c1", query)
        assert [text(await anext(slow)), text(await anext(quick))] == ["before", "before"]
        first = asyncio.ensure_future(anext(slow))
        quick_pending = asyncio.ensure_future(anext(quick))
        await wait_for_followers(watcher, 2)
        write(source.live_path, 1, "line 1")
        assert text(await asyncio.wait_for(first, 10)) == "line 1"  # the slow one reads no more for now
        got_quick = [text(await asyncio.wait_for(quick_pending, 10))]
        for second in range(2, 12):
            write(source.live_path, second, f"line {second}")
            got_quick.append(text(await asyncio.wait_for(anext(quick), 10)))
        got_slow = [text(await asyncio.wait_for(anext(slow), 10)) for _ in range(2, 12)]
        expected = [f"line {second}" for second in range(2, 12)]
        assert got_quick == ["line 1", *expected]
        assert got_slow == expected
        await slow.aclose()
        await quick.aclose()

    asyncio.run(scenario())


async def wait_for_followers(watcher: LogWatcher, count: int) -> None:
    for _ in range(1000):
        if watcher.followers == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{watcher.followers} followers, not {count}")
