"""Reading a cluster's logs from files: order across hosts, positions and tokens, going on after
a token while logs grow and rotate, lines not in Redis's format, pages both ways."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from managed_redis.domain.log_filter import LogFilter
from managed_redis.engine.log_files import LogSource, rotate
from managed_redis.errors import InvalidArgument
from managed_redis.services.log_pages import newest_first, oldest_first
from managed_redis.services.log_query import LogQuery
from managed_redis.services.log_records import Entry, LogReader, Position, merged

BASE = dt.datetime(2026, 11, 30, 19, 0, 0)


def line(second: float, text: str, role: str = "M", pid: int = 1) -> str:
    when = BASE + dt.timedelta(seconds=second)
    return f"{pid}:{role} {when:%d %b %Y %H:%M:%S}.{when.microsecond // 1000:03d} * {text}"


def write(path: Path, *lines: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.writelines(text + "\n" for text in lines)


def texts(entries: list[Entry]) -> list[str]:
    return [entry.message()["message"] for entry in entries]


@pytest.fixture
def logs(tmp_path: Path) -> list[LogSource]:
    """Two hosts' redis logs and one Sentinel log, lines interleaved in time."""
    write(tmp_path / "a" / "redis.log", *(line(s, f"a{s}") for s in range(0, 10, 2)))
    write(tmp_path / "b" / "redis.log", *(line(s, f"b{s}", role="S") for s in range(1, 10, 2)))
    write(tmp_path / "b" / "sentinel.log", line(4.5, "x4.5", role="X"))
    return [LogSource(h, k, tmp_path / h) for h in ("a", "b") for k in ("redis", "sentinel")]


def query(sources: list[LogSource], start: Position | None = None, **bounds: int | None) -> LogQuery:
    return LogQuery(tuple(sources), LogFilter(), (), bounds.get("from_ms"), bounds.get("to_ms"), start, False)


def test_records_of_every_log_come_in_time_order(logs: list[LogSource]) -> None:
    entries = list(merged(LogReader(source) for source in logs))
    assert texts(entries) == ["a0", "b1", "a2", "b3", "a4", "x4.5", "b5", "a6", "b7", "a8", "b9"]
    assert entries[5].message() == {"hostname": "b", "pid": "1", "role": "X", "message": "x4.5"}


def test_a_token_names_a_position_in_at_most_100_characters() -> None:
    position = Position(2**62, b"\xff" * 6, 2**64 - 1, 2**64 - 1)
    token = position.token()
    assert len(token) <= 100 and token.isascii()
    assert Position.of_token(token, "page_token") == position


@pytest.mark.parametrize("token", ["x", "not a token", "AQAA", Position(1, b"abcdef", 1, 1).token()[:-4], "é"])
def test_a_token_not_issued_here_is_invalid_argument_naming_its_field(token: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        Position.of_token(token, "record_token")
    assert caught.value.violations[0].field == "record_token"


def test_pages_go_on_after_their_token_while_logs_grow_and_rotate(logs: list[LogSource]) -> None:
    first, more = oldest_first(query(logs), 4)
    assert texts(first) == ["a0", "b1", "a2", "b3"] and more
    token = first[-1].position.token()
    rotate(logs[0])  # host a's log is renamed; Redis writes a new one
    write(logs[0].live_path, line(10, "a10"))
    write(logs[2].live_path, line(11, "b11", role="S"))
    rest, more = oldest_first(query(logs, Position.of_token(token, "page_token")), 100)
    assert texts(rest) == ["a4", "x4.5", "b5", "a6", "b7", "a8", "b9", "a10", "b11"] and not more


def test_a_token_goes_on_after_its_record_even_among_records_of_the_same_time(tmp_path: Path) -> None:
    write(tmp_path / "a" / "redis.log", line(1, "one"), line(1, "two"), line(1, "three"))
    write(tmp_path / "b" / "redis.log", line(1, "other"))
    sources = [LogSource(h, "redis", tmp_path / h) for h in ("a", "b")]
    every = list(merged(LogReader(s) for s in sources))
    for index, entry in enumerate(every):
        after = list(merged(LogReader(s, after=entry.position.key, resume=entry.position) for s in sources))
        assert texts(after) == texts(every[index + 1 :])


def test_lines_not_in_redis_format_are_kept_timed_by_their_neighbours(tmp_path: Path) -> None:
    write(tmp_path / "a" / "redis.log", "banner before any line", line(1, "one"), "=== BUG REPORT ===", "trace 1")
    entries = list(merged([LogReader(LogSource("a", "redis", tmp_path / "a"))]))
    assert texts(entries) == ["banner before any line", "one", "=== BUG REPORT ===", "trace 1"]
    assert len({entry.position.ts_ms for entry in entries}) == 1
    assert entries[2].message() == {"hostname": "a", "message": "=== BUG REPORT ==="}


def test_a_line_still_being_written_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / "a" / "redis.log"
    write(path, line(1, "one"))
    with path.open("a") as handle:
        handle.write(line(2, "tw"))
    reader = LogReader(LogSource("a", "redis", tmp_path / "a"))
    assert texts(list(reader.read())) == ["one"]
    with path.open("a") as handle:
        handle.write("o\n")
    assert texts(list(reader.read())) == ["two"]


def test_a_follower_reads_on_across_a_rotation_without_losing_a_line(tmp_path: Path) -> None:
    source = LogSource("a", "redis", tmp_path / "a")
    write(source.live_path, line(1, "one"))
    reader = LogReader(source)
    assert texts(list(reader.read())) == ["one"]
    write(source.live_path, line(2, "two"))  # written just before the rename: lands in the renamed file
    rotate(source)
    write(source.live_path, line(3, "three"))
    assert texts(list(reader.read())) == ["two", "three"]


def test_from_and_to_time_bound_the_records(logs: list[LogSource]) -> None:
    ms = int(BASE.astimezone().timestamp() * 1000)
    page, _ = oldest_first(query(logs, from_ms=ms + 3000, to_ms=ms + 6000), 100)
    assert texts(page) == ["b3", "a4", "x4.5", "b5"]


def test_newest_first_pages_go_back_from_their_token(logs: list[LogSource]) -> None:
    page, more = newest_first(query(logs), 3)
    assert texts(page) == ["b9", "a8", "b7"] and more
    page, more = newest_first(query(logs, page[-1].position), 100)
    assert texts(page) == ["a6", "b5", "x4.5", "a4", "b3", "a2", "b1", "a0"] and not more


def test_from_time_finds_its_place_in_a_big_log(tmp_path: Path) -> None:
    source = LogSource("a", "redis", tmp_path / "a")
    write(source.live_path, *(line(s / 10, f"n{s}") for s in range(20000)))
    ms = int(BASE.astimezone().timestamp() * 1000)
    page, more = oldest_first(query([source], from_ms=ms + 1_500_000), 2)  # second 1500: line 15000
    assert texts(page) == ["n15000", "n15001"] and more
    assert os.path.getsize(source.live_path) > 500_000
