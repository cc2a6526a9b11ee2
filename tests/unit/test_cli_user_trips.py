"""What a first user of ``mredis`` tripped on: flags that sent what the API refuses or
silently meant something else, an empty table column, an unreachable server's message, a
log limit the API's page size capped, and a folder hint naming a file the README never
calls a profile."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from managed_redis import cli
from managed_redis.client_cli import cluster_parts, specs
from managed_redis.client_cli.api_client import AnswerError, ApiClient, Connection
from managed_redis.client_cli.clusters import update_body
from managed_redis.client_cli.session import Session


def parse(*argv: str) -> argparse.Namespace:
    return cli._parser().parse_args(argv)


def test_redis_config_booleans_are_sent_as_json_booleans() -> None:
    # The API refuses "true" in quotes: config_spec.redis.activedefrag: Expected true or false.
    assert specs.redis_settings("activedefrag=true,useLuajit=False,timeout=60") == {
        "activedefrag": True,
        "useLuajit": False,
        "timeout": "60",
    }
    body = update_body(parse("cluster", "update", "cache", "--redis-config", "activedefrag=true"))
    assert body["configSpec"]["redis"] == {"activedefrag": True}
    create = specs.new_cluster_body(parse("cluster", "create", "--name", "c", "--redis-config", "auditLog=false"))
    assert create["configSpec"]["redis"] == {"auditLog": False}


@pytest.mark.parametrize("word", ["yes", "on", "1", "ture", ""])
def test_update_deletion_protection_refuses_what_is_not_true_or_false(
    word: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # It used to read any word but "true" as false: a typo turned the protection off.
    with pytest.raises(SystemExit) as exited:
        parse("cluster", "update", "cache", "--deletion-protection", word)
    assert exited.value.code == 2
    assert "--deletion-protection: must be true or false" in capsys.readouterr().err


def test_update_deletion_protection_takes_either_case() -> None:
    assert parse("cluster", "update", "c", "--deletion-protection", "TRUE").deletion_protection is True
    assert parse("cluster", "update", "c", "--deletion-protection", "false").deletion_protection is False


def test_backup_table_shows_only_fields_the_apis_backup_has() -> None:
    # The API's Backup has no status: the STATUS column was always empty.
    from yandex.cloud.mdb.redis.v1 import backup_pb2

    fields = {f.json_name for f in backup_pb2.Backup.DESCRIPTOR.fields}
    assert set(cluster_parts.BACKUP_COLUMNS) <= fields


def test_an_unreachable_server_is_said_in_a_few_words() -> None:
    client = ApiClient(Connection("http://127.0.0.1:1", "t", None))
    with pytest.raises(AnswerError) as raised:
        client.call("GET", "/managed-redis/v1/clusters")
    assert raised.value.message == "cannot reach the API at http://127.0.0.1:1: Connection refused"


def test_a_missing_folder_names_where_it_may_come_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MREDIS_CLI_CONFIG", "/nonexistent/config.toml")
    monkeypatch.delenv("MREDIS_FOLDER_ID", raising=False)
    session = Session(parse("cluster", "list", "--endpoint", "http://127.0.0.1:1", "--token", "t"))
    with pytest.raises(AnswerError) as raised:
        session.folder()
    assert raised.value.message == (
        "folder_id: required (give --folder-id, MREDIS_FOLDER_ID or folder-id in /nonexistent/config.toml)"
    )


@pytest.mark.parametrize("limit", ["0", "-5", "many"])
def test_list_logs_limit_must_be_a_positive_number(limit: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse("cluster", "list-logs", "cache", "--limit", limit)
    assert exited.value.code == 2
    assert "--limit: must be a whole number of records, 1 or more" in capsys.readouterr().err


class FakeLogs:
    """The ListLogs pages of ``total`` records, at most 1,000 a page as the API gives them."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.asked: list[int] = []

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> dict[str, Any]:
        query = query or {}
        size = int(query["pageSize"])
        assert 1 <= size <= 1000, "the API refuses a page size outside 0-1000"
        self.asked.append(size)
        start = int(query.get("pageToken") or 0)
        end = min(start + size, self.total)
        page: dict[str, Any] = {"logs": [{"message": {"message": str(i)}} for i in range(start, end)]}
        if end < self.total:
            page["nextPageToken"] = str(end)
        return page


def test_list_logs_limit_over_a_page_reads_more_pages() -> None:
    # --limit 2500 used to be sent as pageSize and refused: page_size: must be in 0-1000.
    fake = FakeLogs(total=3000)
    records = cluster_parts.read_logs(fake, "/logs", {"filter": None}, limit=2500)  # type: ignore[arg-type]
    assert [r["message"]["message"] for r in records] == [str(i) for i in range(2500)]
    assert fake.asked == [1000, 1000, 500]
    fewer = FakeLogs(total=30)
    assert len(cluster_parts.read_logs(fewer, "/logs", {}, limit=100)) == 30  # type: ignore[arg-type]
