"""What a ListLogs or StreamLogs request asks for, checked: which logs, from where, until when,
which columns, in which order; and a record as the API shows it.

Choices where the API reference is silent (also in the README):

- ``from_time`` is inclusive and ``to_time`` exclusive; ``to_time`` not after ``from_time`` is
  an INVALID_ARGUMENT.
- ``service_type`` REDIS (or unset) reads the hosts' redis-server and redis-sentinel logs;
  VALKEY_AUDIT answers no records: this server keeps no audit log.
- ``column_filter`` names keys of ``message`` (hostname, message, pid, role); another name is
  an INVALID_ARGUMENT.
- ``order_by``: ``[{"field": "TIMESTAMP", "order": "ASC"|"DESC"}]`` (order ASC by default).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import timestamp_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.domain.log_filter import LogFilter, parse_log_filter
from managed_redis.engine.log_files import LogSource
from managed_redis.errors import InvalidArgument
from managed_redis.services.log_records import BEFORE_ALL, Entry, Key, LogReader, Position

COLUMNS = ("hostname", "message", "pid", "role")
LOG_KINDS = ("redis", "sentinel")
_ORDER_BY_SHAPE = 'must be a JSON array like [{"field": "TIMESTAMP", "order": "DESC"}]'
_MIN_SECONDS, _MAX_SECONDS = -62135596800, 253402300799  # 0001-01-01 .. 9999-12-31


@dataclass(frozen=True)
class LogQuery:
    """A checked request: the logs to read (those the filter admits), the start, the bounds."""

    sources: tuple[LogSource, ...]
    log_filter: LogFilter
    columns: tuple[str, ...]
    from_ms: int | None
    to_ms: int | None
    start: Position | None  # the token to go on after
    audit: bool  # VALKEY_AUDIT: no records
    descending: bool = False

    def readers(self) -> list[LogReader]:
        """A reader per log, each starting after ``start`` or at ``from_ms``."""
        after: Key = BEFORE_ALL
        if self.start is not None:
            after = self.start.key
        elif self.from_ms is not None:
            after = Position.before(self.from_ms).key
        return [LogReader(source, after=after, resume=self.start) for source in self.sources]

    def in_bounds(self, entry: Entry) -> bool:
        """Whether ``entry`` is before ``to_time`` (the lower bound is where readers start)."""
        return self.to_ms is None or entry.position.ts_ms < self.to_ms

    def record(self, entry: Entry) -> service_pb.LogRecord:
        message = entry.message()
        if self.columns:
            message = {key: value for key, value in message.items() if key in self.columns}
        ts = entry.position.ts_ms
        return service_pb.LogRecord(
            timestamp=timestamp_pb2.Timestamp(seconds=ts // 1000, nanos=ts % 1000 * 1_000_000), message=message
        )


def log_query(
    request: service_pb.ListClusterLogsRequest | service_pb.StreamClusterLogsRequest,
    hosts: Sequence[tuple[str, Path]],
    token: str,
    token_field: str,
    order_by: str = "",
) -> LogQuery:
    """``request`` checked, over the cluster's ``hosts`` (name, directory); ``token`` the page or
    record token named ``token_field``. Raises InvalidArgument naming the field that is wrong."""
    log_filter = parse_log_filter(request.filter, "filter")
    columns = check_columns(request.column_filter)
    from_ms, to_ms = time_ms(request, "from_time"), time_ms(request, "to_time")
    check_bounds(from_ms, to_ms)
    start = Position.of_token(token, token_field) if token else None
    sources = tuple(
        LogSource(name, kind, directory)
        for name, directory in sorted(hosts)
        if log_filter.admits_host(name)
        for kind in LOG_KINDS
    )
    audit = request.service_type == service_pb.ListClusterLogsRequest.ServiceType.VALKEY_AUDIT
    return LogQuery(sources, log_filter, columns, from_ms, to_ms, start, audit, descending(order_by))


def check_columns(columns: Sequence[str]) -> tuple[str, ...]:
    """The columns asked for; InvalidArgument naming ``column_filter`` for an unknown one."""
    for column in columns:
        if column not in COLUMNS:
            raise InvalidArgument.field("column_filter", f"unknown column {column!r}; columns are {', '.join(COLUMNS)}")
    return tuple(columns)


def time_ms(request: service_pb.ListClusterLogsRequest | service_pb.StreamClusterLogsRequest, name: str) -> int | None:
    """The request's ``from_time``/``to_time`` in ms, None when unset; InvalidArgument if out of range."""
    if not request.HasField(name):  # type: ignore[arg-type]
        return None
    stamp: timestamp_pb2.Timestamp = getattr(request, name)
    if not (_MIN_SECONDS <= stamp.seconds <= _MAX_SECONDS and 0 <= stamp.nanos < 1_000_000_000):
        raise InvalidArgument.field(name, "must be a time between years 1 and 9999")
    return stamp.seconds * 1000 + stamp.nanos // 1_000_000


def check_bounds(from_ms: int | None, to_ms: int | None) -> None:
    if from_ms is not None and to_ms is not None and to_ms <= from_ms:
        raise InvalidArgument.field("to_time", "must be after from_time")


def descending(order_by: str) -> bool:
    """Whether ``order_by`` asks for newest first; InvalidArgument naming ``order_by`` unless it is
    a JSON array of at most one ``{"field": "TIMESTAMP", "order": "ASC"|"DESC"}``."""
    if not order_by.strip():
        return False
    try:
        items = json.loads(order_by)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise InvalidArgument.field("order_by", _ORDER_BY_SHAPE) from None
    if not isinstance(items, list) or len(items) > 1 or not all(isinstance(item, dict) for item in items):
        raise InvalidArgument.field("order_by", _ORDER_BY_SHAPE)
    if not items:
        return False
    item = {str(k).lower(): v for k, v in items[0].items()}
    if str(item.get("field", "")).upper() != "TIMESTAMP" or set(item) - {"field", "order"}:
        raise InvalidArgument.field("order_by", "the one field logs can be ordered by is TIMESTAMP")
    order = str(item.get("order", "ASC")).upper()
    if order not in ("ASC", "DESC"):
        raise InvalidArgument.field("order_by", "order must be ASC or DESC")
    return order == "DESC"
