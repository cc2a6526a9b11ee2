"""What a second new-user trial of ``mredis`` tripped on: a table's boolean column blank for
false (the API's JSON leaves false out), a log time refused by the API naming its field
instead of the flag, connection strings for a stopped cluster given without a word, and no
TAB completion of cluster names. The commands run against a small fake of the REST API on
127.0.0.1 (a port of its own), so what is sent and printed is what a user sees."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from yandex.cloud.mdb.redis.v1 import cluster_pb2, user_pb2, versions_service_pb2
from yandex.cloud.operation import operation_pb2

from managed_redis import cli
from managed_redis.client_cli import catalog, cluster_parts, clusters, specs, users
from managed_redis.client_cli.completion import cluster_names
from managed_redis.client_cli.output import table

ROOT = Path(__file__).resolve().parents[2]
CLUSTERS = "/managed-redis/v1/clusters"
CACHE = {"id": "c9qcache", "name": "cache", "status": "RUNNING", "config": {"version": "7.0"}}
CART = {"id": "c9qcart", "name": "cart", "status": "RUNNING", "sharded": True, "config": {"version": "7.0"}}
QUEUE = {"id": "c9qqueue", "name": "queue", "status": "RUNNING"}


@dataclass
class FakeApi:
    """Answers ``routes`` (path -> (HTTP status, JSON)); anything else is NOT_FOUND. Keeps
    what it was asked: (path, query, Authorization header)."""

    routes: dict[str, tuple[int, dict[str, Any]]]
    asked: list[tuple[str, dict[str, list[str]], str | None]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi({})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            fake.asked.append((parts.path, parse_qs(parts.query), self.headers.get("Authorization")))
            status, answer = fake.routes.get(parts.path, (404, {"code": 5, "message": f"{parts.path} not found"}))
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def no_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No profile, environment or local token of the machine's leaks into a command."""
    monkeypatch.setenv("MREDIS_CLI_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("MREDIS_DATA_DIR", str(tmp_path / "no-data"))
    for name in ("MREDIS_ENDPOINT", "MREDIS_TOKEN", "MREDIS_FOLDER_ID"):
        monkeypatch.delenv(name, raising=False)


def mredis(api: FakeApi, *argv: str) -> int:
    return cli.main([*argv, "--endpoint", api.url, "--token", "t0ken", "--folder-id", "f1"])


# -- a table's booleans -------------------------------------------------------------------------


def test_cluster_list_says_false_for_a_cluster_that_is_not_sharded(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.routes[CLUSTERS] = (200, {"clusters": [CACHE, CART]})
    assert mredis(api, "cluster", "list") == 0
    header, *rows = capsys.readouterr().out.splitlines()
    name, sharded = header.index("NAME"), header.index("SHARDED")
    assert {row[name:].split()[0]: row[sharded:].split()[0] for row in rows} == {"cache": "false", "cart": "true"}


VERSION = versions_service_pb2.ListVersionsResponse.DESCRIPTOR.fields_by_name["version"].message_type
assert VERSION is not None
# Each list's table: (its columns, the boolean ones, the API message a row is).
TABLES: list[tuple[tuple[str, ...], tuple[str, ...], Descriptor]] = [
    (clusters.COLUMNS, clusters.BOOLEANS, cluster_pb2.Cluster.DESCRIPTOR),
    (users.COLUMNS, users.BOOLEANS, user_pb2.User.DESCRIPTOR),
    (cluster_parts.OPERATION_COLUMNS, cluster_parts.OPERATION_BOOLEANS, operation_pb2.Operation.DESCRIPTOR),
    (catalog.VERSION_COLUMNS, (), VERSION),
]


@pytest.mark.parametrize(
    ("columns", "booleans", "message"), TABLES, ids=["clusters", "users", "operations", "versions"]
)
def test_every_column_is_a_field_and_every_bool_field_says_false(
    columns: tuple[str, ...], booleans: tuple[str, ...], message: Descriptor
) -> None:
    """A column naming no field of the message is always blank (version list's 'deprecated'
    was); a bool field left out of a row is false, and says so."""
    fields = {f.json_name: f for f in message.fields}
    assert [c for c in columns if c.split(".")[0] not in fields] == []
    top = [c for c in columns if "." not in c]
    assert set(booleans) == {c for c in top if fields[c].type == FieldDescriptor.TYPE_BOOL}
    text = table([{"name": "x"}], columns, booleans)
    assert text.splitlines()[1].split().count("false") == len(booleans)


# -- log times ----------------------------------------------------------------------------------


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "2h ago", ""])
def test_list_logs_since_that_is_no_time_names_the_flag(since: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli._parser().parse_args(["cluster", "list-logs", "cache", "--since", since])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --since: must be an RFC 3339 time (2026-12-01T09:30:00Z) or a span before now" in err
    assert "from_time" not in err


NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("2026-12-01T09:30:00Z", "2026-12-01T09:30:00Z"),
        ("2026-12-01T09:30:00+03:00", "2026-12-01T06:30:00Z"),
        ("2026-12-01T09:30:00", "2026-12-01T09:30:00Z"),  # no offset: UTC
        ("2026-12-01", "2026-12-01T00:00:00Z"),
        ("30m", "2026-12-01T11:30:00Z"),
        ("2h", "2026-12-01T10:00:00Z"),
        ("1d", "2026-11-30T12:00:00Z"),
    ],
)
def test_a_log_time_is_rfc_3339_or_a_span_ago(text: str, sent: str) -> None:
    assert specs.moment(text, now=NOW) == sent


def test_list_logs_sends_the_times_as_the_api_reads_them(api: FakeApi) -> None:
    api.routes[f"{CLUSTERS}/c9qcache"] = (200, CACHE)
    api.routes[f"{CLUSTERS}/c9qcache:logs"] = (200, {"logs": []})
    assert mredis(api, "cluster", "list-logs", "c9qcache", "--since", "2026-12-01T09:30:00+01:00") == 0
    (query,) = [query for path, query, _ in api.asked if path.endswith(":logs")]
    assert query["fromTime"] == ["2026-12-01T08:30:00Z"] and "toTime" not in query


# -- connect to a cluster that does not serve ---------------------------------------------------

HOSTS = {"hosts": [{"name": "cache-h1.mredis", "role": "MASTER"}, {"name": "cache-h2.mredis", "role": "REPLICA"}]}


@pytest.mark.parametrize(
    ("status", "warning"),
    [
        (
            "STOPPED",
            "cluster cache is STOPPED: these strings reach nothing until it is started (mredis cluster start cache)",
        ),
        ("ERROR", "cluster cache is ERROR: its hosts may not answer these strings yet"),
        ("RUNNING", None),
        ("UPDATING", None),
    ],
)
def test_connect_warns_on_stderr_when_the_cluster_does_not_serve(
    api: FakeApi, capsys: pytest.CaptureFixture[str], status: str, warning: str | None
) -> None:
    api.routes[f"{CLUSTERS}/c9qcache"] = (200, {**CACHE, "status": status})
    api.routes[f"{CLUSTERS}/c9qcache/hosts"] = (200, HOSTS)
    assert mredis(api, "cluster", "connect", "c9qcache") == 0
    out, err = capsys.readouterr()
    assert "redis-cli -h cache-h1.mredis -p 6379" in out  # the strings all the same, on stdout
    assert err == (f"mredis: warning: {warning}\n" if warning else "")


# -- TAB completion of cluster names ------------------------------------------------------------


def completion_args(api: FakeApi, folder_id: str | None = "f1") -> Any:
    return cli._parser().parse_args(
        [
            "cluster",
            "get",
            "x",
            "--endpoint",
            api.url,
            "--token",
            "t0ken",
            *(["--folder-id", folder_id] if folder_id else []),
        ]
    )


def test_cluster_names_of_the_folder_are_offered_by_prefix(api: FakeApi) -> None:
    api.routes[CLUSTERS] = (200, {"clusters": [CART, CACHE, QUEUE]})
    assert cluster_names("ca", completion_args(api)) == ["cache", "cart"]
    assert cluster_names("", completion_args(api)) == ["cache", "cart", "queue"]
    assert api.asked[0] == (CLUSTERS, {"folderId": ["f1"]}, "Bearer t0ken")


def test_completion_offers_nothing_quietly_when_it_cannot_ask(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.routes[CLUSTERS] = (403, {"code": 7, "message": "permission denied"})
    assert cluster_names("c", completion_args(api)) == []
    assert cluster_names("c", completion_args(api, folder_id=None)) == []  # no folder: nothing asked
    assert len(api.asked) == 1
    gone = completion_args(api)
    gone.endpoint = "http://127.0.0.1:1"  # nothing listens there
    assert cluster_names("c", gone) == []
    assert capsys.readouterr() == ("", "")


def test_the_shell_gets_the_names_through_argcomplete(api: FakeApi, tmp_path: Path) -> None:
    """As bash's completion function runs it (argcomplete's protocol): ``mredis cluster get ca<TAB>``."""
    api.routes[CLUSTERS] = (200, {"clusters": [CART, CACHE, QUEUE]})
    line = "mredis cluster get ca"
    out = tmp_path / "completions"
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
        "MREDIS_ENDPOINT": api.url,
        "MREDIS_TOKEN": "t0ken",
        "MREDIS_FOLDER_ID": "f1",
    }
    mredis_script = [sys.executable, "-c", "import sys; from managed_redis.cli import main; sys.exit(main())"]
    done = subprocess.run(mredis_script, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(word.strip() for word in out.read_text().split("\v")) == ["cache", "cart"]
