"""What a ListLogs/StreamLogs request asks for: order, columns, time bounds, service type, and
INVALID_ARGUMENT naming the field for what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import timestamp_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.errors import InvalidArgument
from managed_redis.services.log_query import descending, log_query

HOSTS = [("b.db", Path("/nowhere/b")), ("a.db", Path("/nowhere/a"))]


@pytest.mark.parametrize(
    ("order_by", "newest_first"),
    [
        ("", False),
        ("[]", False),
        ('[{"field": "TIMESTAMP", "order": "ASC"}]', False),
        ('[{"field": "TIMESTAMP", "order": "DESC"}]', True),
        ('[{"field": "timestamp", "order": "desc"}]', True),
        ('[{"field": "TIMESTAMP"}]', False),
    ],
)
def test_order_by_says_which_end_comes_first(order_by: str, newest_first: bool) -> None:
    assert descending(order_by) is newest_first


@pytest.mark.parametrize(
    "order_by",
    [
        "TIMESTAMP DESC",
        '{"field": "TIMESTAMP"}',
        '[{"field": "HOSTNAME", "order": "ASC"}]',
        '[{"field": "TIMESTAMP", "order": "UP"}]',
        '[{"field": "TIMESTAMP", "order": "ASC", "nulls": "FIRST"}]',
        '[{"field": "TIMESTAMP"}, {"field": "TIMESTAMP"}]',
        "[" * 100_000,
    ],
)
def test_a_bad_order_by_is_invalid_argument(order_by: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        descending(order_by)
    assert caught.value.violations[0].field == "order_by"


def test_a_query_reads_each_admitted_hosts_redis_and_sentinel_logs() -> None:
    request = service_pb.ListClusterLogsRequest(cluster_id="c", filter="message.hostname != 'b.db'")
    query = log_query(request, HOSTS, "", "page_token")
    assert [(s.host, s.kind, s.directory) for s in query.sources] == [
        ("a.db", "redis", Path("/nowhere/a")),
        ("a.db", "sentinel", Path("/nowhere/a")),
    ]
    assert not query.audit and query.start is None


def test_audit_logs_are_asked_for_by_service_type() -> None:
    request = service_pb.ListClusterLogsRequest(service_type=service_pb.ListClusterLogsRequest.VALKEY_AUDIT)
    assert log_query(request, HOSTS, "", "page_token").audit


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"column_filter": ["hostname", "severity"]}, "column_filter"),
        ({"from_time": timestamp_pb2.Timestamp(seconds=20), "to_time": timestamp_pb2.Timestamp(seconds=10)}, "to_time"),
        ({"from_time": timestamp_pb2.Timestamp(seconds=10), "to_time": timestamp_pb2.Timestamp(seconds=10)}, "to_time"),
        ({"from_time": timestamp_pb2.Timestamp(seconds=2**40)}, "from_time"),
        ({"to_time": timestamp_pb2.Timestamp(seconds=1, nanos=-1)}, "to_time"),
        ({"filter": "message.hostname ~ 'a'"}, "filter"),
    ],
)
def test_a_bad_request_is_invalid_argument_naming_its_field(request_fields: dict[str, object], field: str) -> None:
    request = service_pb.StreamClusterLogsRequest(cluster_id="c", **request_fields)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument) as caught:
        log_query(request, HOSTS, "", "record_token")
    assert caught.value.violations[0].field == field


def test_a_foreign_token_is_invalid_argument_naming_the_token_field() -> None:
    request = service_pb.StreamClusterLogsRequest(cluster_id="c")
    with pytest.raises(InvalidArgument) as caught:
        log_query(request, HOSTS, "bogus", "record_token")
    assert caught.value.violations[0].field == "record_token"
