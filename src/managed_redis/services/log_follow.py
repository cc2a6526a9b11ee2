"""StreamLogs: the records there are, then, without ``to_time``, each new one as it is written.

One ``LogWatcher`` per server serves every follower: a single asyncio task that, every
``period_s``, looks at the size and inode of each followed log file (one ``stat`` per file,
however many follow it) and, for those that changed, reads and parses what was added once (in
the default executor, from where the last read stopped, by inode and offset, so a rotation in
between loses nothing) and hands the records to every follower of that log; about once a
second it also asks the store which followed clusters are gone, and ends their streams. A
follower holds no thread: it awaits its records and turns them into its own answer (its
columns). A follower first reads the records there are with its own readers, then, when it
joins, the records up to where the shared read of each of its logs stands, and from then on
takes its share of the shared reads. One whose client reads more slowly than its logs grow
(``_MAX_QUEUED`` records waiting) leaves the shared reads and joins them again from its last
record. A stream ends when its client goes (its task is cancelled), when its cluster is
deleted, or, with ``to_time``, after the records there are before it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.engine.log_files import LogSource
from managed_redis.services.log_query import LogQuery
from managed_redis.services.log_records import Entry, FilePlace, Key, LogReader, Position, merged

T = TypeVar("T")
_BATCH = 256
_GONE = (-1, -1)
_MAX_QUEUED = 10_000


@dataclass(eq=False)
class _Follower:
    """One stream following its logs: the records handed to it and not yet sent."""

    cluster_id: str
    readers: list[LogReader]  # its own, each where it joined the shared read of its log
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    queued: list[Entry] = field(default_factory=list)
    skipping: dict[bytes, Key] = field(default_factory=dict)  # log id -> records not after this are not its
    last: dict[bytes, Position] = field(default_factory=dict)  # log id -> the last record sent of it
    ended: bool = False
    joined: bool = False  # False at first, and once it fell _MAX_QUEUED behind and left the shared reads

    def take(self, entry: Entry) -> None:
        floor = self.skipping.get(entry.position.log)
        if floor is not None:
            if entry.position.key <= floor:
                return
            del self.skipping[entry.position.log]
        self.queued.append(entry)


@dataclass(eq=False)
class _Feed:
    """One followed log, read once per change for all of its followers."""

    reader: LogReader
    followers: set[_Follower] = field(default_factory=set)


class LogWatcher:
    """The one poller behind every StreamLogs follower of this process.

    ``existing(cluster_ids)`` returns those of the ids whose clusters still exist (it may block:
    it runs in the executor)."""

    def __init__(self, existing: Callable[[list[str]], set[str]], period_s: float = 0.2, check_every: int = 5) -> None:
        self.existing = existing
        self.period_s = period_s
        self.check_every = check_every
        self._followers: set[_Follower] = set()
        self._feeds: dict[LogSource, _Feed] = {}
        self._reading = asyncio.Lock()  # one shared read at a time, and none while a follower joins
        self._seen: dict[str, tuple[int, int]] = {}
        # The answers made of the last shared read, by record and columns: followers asking
        # for the same columns send the same message.
        self._answers: dict[tuple[Position, tuple[str, ...]], service_pb.StreamLogRecord] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def followers(self) -> int:
        return len(self._followers)

    async def follow(self, cluster_id: str, query: LogQuery) -> AsyncGenerator[service_pb.StreamLogRecord, None]:
        """The query's records from its start on; without ``to_time`` it goes on with new ones
        until the cluster is deleted or the caller stops iterating."""
        if query.audit:
            return
        readers = query.readers()
        existing = merged(readers)
        while True:
            batch, finished = await _in_executor(_take, existing, query)
            for entry in batch:
                yield _streamed(query, entry)
            if finished:
                break
        if query.to_ms is not None:
            return
        follower = _Follower(cluster_id, readers)
        try:
            while not follower.ended:
                for entry in [] if follower.joined else await self._join(follower):
                    yield self._sent(follower, query, entry)
                await follower.wake.wait()
                follower.wake.clear()
                entries, follower.queued = follower.queued, []
                for entry in entries if not follower.ended else []:
                    yield self._sent(follower, query, entry)
        finally:
            self._leave(follower)

    async def _join(self, follower: _Follower) -> list[Entry]:
        """Make ``follower`` one of the shared reads' followers; the records its own readers
        read up to where those stand (in time order).

        The joining goes on when the follower's task is cancelled (its client went), as a
        shared read it began must hand its records to the other followers and keep the others
        out of the files until it has; the follower leaves once it has joined."""
        joining = asyncio.ensure_future(self._join_now(follower))
        try:
            return await asyncio.shield(joining)
        except asyncio.CancelledError:
            joining.add_done_callback(lambda _: self._leave(follower))
            raise

    async def _join_now(self, follower: _Follower) -> list[Entry]:
        follower.readers = [_resumed(reader, follower.last.get(reader.id)) for reader in follower.readers]
        async with self._reading:
            await self._read_shared([self._feeds[r.source] for r in follower.readers if r.source in self._feeds])
            places = {source: feed.reader.place for source, feed in self._feeds.items()}
            entries = await _in_executor(_catch_up, follower.readers, places)
            follower.skipping = {}
            for reader in follower.readers:
                if reader.source not in self._feeds:
                    self._feeds[reader.source] = _Feed(reader.detached())
                    self._seen.pop(str(reader.source.live_path), None)  # read at the next look whatever its size
                self._feeds[reader.source].followers.add(follower)
                if (floor := reader.skipping) is not None:
                    follower.skipping[reader.id] = floor
            follower.joined = True
            self._followers.add(follower)
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._watch(), name="log-watcher")
        return entries

    def _leave(self, follower: _Follower) -> None:
        self._followers.discard(follower)
        for source in [r.source for r in follower.readers]:
            feed = self._feeds.get(source)
            if feed is not None:
                feed.followers.discard(follower)
                if not feed.followers:
                    del self._feeds[source]

    async def _read_shared(self, feeds: list[_Feed]) -> None:
        """Read what each of ``feeds`` gained, once, and hand each record to the followers of its log."""
        if not feeds:
            return
        entries = await _in_executor(_news, [feed.reader for feed in feeds])
        self._answers = {}
        followers_of = {feed.reader.id: list(feed.followers) for feed in feeds}
        woken: set[_Follower] = set()
        for entry in entries:
            for follower in followers_of[entry.position.log]:
                follower.take(entry)
                woken.add(follower)
        for follower in woken:
            if len(follower.queued) > _MAX_QUEUED:
                self._leave(follower)
                follower.joined, follower.queued = False, []
            follower.wake.set()

    def _sent(self, follower: _Follower, query: LogQuery, entry: Entry) -> service_pb.StreamLogRecord:
        follower.last[entry.position.log] = entry.position
        key = (entry.position, query.columns)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = _streamed(query, entry)
        return answer

    async def _watch(self) -> None:
        for tick in itertools.count(1):
            await asyncio.sleep(self.period_s)
            if not self._followers:
                self._task = None
                return
            feeds = dict(self._feeds)
            sizes = await _in_executor(_sizes, [str(source.live_path) for source in feeds])
            changed = [
                feed
                for source, feed in feeds.items()
                if self._seen.get(str(source.live_path)) != sizes[str(source.live_path)]
            ]
            self._seen = sizes
            async with self._reading:
                await self._read_shared([feed for feed in changed if feed.followers])
            if tick % self.check_every == 0:
                followers = list(self._followers)
                ids = sorted({f.cluster_id for f in followers})
                gone = set(ids) - await _in_executor(self.existing, ids)
                for follower in followers:
                    if follower.cluster_id in gone:
                        follower.ended = True
                        follower.wake.set()


def _sizes(paths: Iterable[str]) -> dict[str, tuple[int, int]]:
    found = {}
    for path in paths:
        try:
            st = os.stat(path)
            found[path] = (st.st_ino, st.st_size)
        except OSError:
            found[path] = _GONE
    return found


def _take(entries: Iterator[Entry], query: LogQuery) -> tuple[list[Entry], bool]:
    """The next records of the merge (up to ``_BATCH``), and whether it has no more before ``to_time``."""
    batch: list[Entry] = []
    for entry in entries:
        if not query.in_bounds(entry):
            return batch, True
        batch.append(entry)
        if len(batch) == _BATCH:
            return batch, False
    return batch, True


def _news(readers: list[LogReader]) -> list[Entry]:
    """What each log gained since it was last read, in time order."""
    fresh = [entry for reader in readers for entry in reader.read()]
    return sorted(fresh, key=lambda entry: entry.position.key)


def _catch_up(readers: list[LogReader], places: dict[LogSource, FilePlace]) -> list[Entry]:
    """What each log gained since its reader last read, up to ``places`` (where the shared read
    of a log stands; to the end for a log nobody follows yet), in time order."""
    fresh = [entry for reader in readers for entry in reader.read(until=places.get(reader.source))]
    return sorted(fresh, key=lambda entry: entry.position.key)


def _resumed(reader: LogReader, last: Position | None) -> LogReader:
    """``reader``, or, once records of its log were sent from the shared read, a reader from just after the last."""
    return reader if last is None else LogReader(reader.source, after=last.key, resume=last)


def _streamed(query: LogQuery, entry: Entry) -> service_pb.StreamLogRecord:
    return service_pb.StreamLogRecord(record=query.record(entry), next_record_token=entry.position.token())


async def _in_executor(fn: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
