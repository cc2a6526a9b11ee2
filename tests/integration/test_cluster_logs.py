"""ListLogs and StreamLogs against real redis-server and redis-sentinel logs, over REST and gRPC."""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub

from managed_redis.domain.redis_log import parse_line
from tests.support.clusters import FOLDER, admin_client, create_body, create_cluster, hosts_of, master_of, run
from tests.support.processes import kill_all, redis_processes
from tests.support.server import RunningServer, host_network, json_object, running_server, wait_until, write_tokens
from tests.support.versions import ready_line

VIEWER, AUDITOR = "viewer-token-logs-0123456", "auditor-token-logs-012345"
Record = tuple[str, str, str, str]  # timestamp, hostname, role, message


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    network = host_network()
    data_dir = tmp_path_factory.mktemp("server")
    write_tokens(
        data_dir,
        [
            {"subject": "viewer", "token": VIEWER, "roles": {FOLDER: ["managed-redis.viewer"]}},
            {"subject": "auditor", "token": AUDITOR, "roles": {FOLDER: ["managed-redis.auditor"]}},
        ],
    )
    # Rotation every 0.2 s once a log passes ~2 KB: rotations happen while the tests write lines.
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_HOST_LOG_ROTATE_MIB": "0.002", "MREDIS_HOST_LOG_PERIOD_S": "0.2"}
    try:
        with running_server(data_dir, env=env) as running:
            yield running
    finally:
        kill_all(network)
        assert not redis_processes(network)


@pytest.fixture(scope="module")
def cluster(server: RunningServer) -> dict[str, Any]:
    return create_cluster(server, "logs", hosts=2)


def list_logs(server: RunningServer, cluster_id: str, token: str = "admin", **params: Any) -> requests.Response:
    return server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}:logs", token=token, params=params)


def records(reply: dict[str, Any]) -> list[Record]:
    return [
        (
            r["timestamp"],
            r["message"].get("hostname", ""),
            r["message"].get("role", ""),
            r["message"].get("message", ""),
        )
        for r in reply.get("logs", [])
    ]


def everything(server: RunningServer, cluster_id: str, **params: Any) -> list[Record]:
    found, token = [], ""
    while True:
        reply = json_object(list_logs(server, cluster_id, pageSize=1000, pageToken=token, **params))
        found += records(reply)
        token = reply.get("nextPageToken", "")
        if not token:
            return found


def bgsave(server: RunningServer, host: str) -> None:
    client = admin_client(server, host)
    wait_until(lambda: client.info("persistence")["rdb_bgsave_in_progress"] == 0, timeout_s=30)
    client.bgsave()


def test_a_fresh_cluster_lists_the_startup_lines_of_every_host_in_time_order(
    server: RunningServer, cluster: dict[str, Any]
) -> None:
    # One page (a fresh cluster's lines are far fewer than 1,000): a later page may bring a
    # line written meanwhile with a time earlier than the last one already listed.
    found = records(json_object(list_logs(server, cluster["id"], pageSize=1000)))
    hosts = {h["name"] for h in hosts_of(server, cluster["id"])}
    ready = {host for _, host, role, message in found if role in "MS" and message == ready_line()}
    assert ready == hosts
    sentinels = {host for _, host, role, message in found if role == "X" and "Sentinel ID is" in message}
    assert sentinels == hosts
    # As instants: proto JSON writes a whole second without a fraction ("...20Z"), which sorts
    # after "...20.001Z" as text.
    times = [dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")) for timestamp, *_ in found]
    assert times == sorted(times)


def test_pages_go_on_where_they_stopped_while_the_logs_grow(server: RunningServer, cluster: dict[str, Any]) -> None:
    cluster_id, master = cluster["id"], master_of(server, cluster["id"])
    walked, token = [], ""
    while True:
        reply = json_object(list_logs(server, cluster_id, pageSize=7, pageToken=token))
        walked += records(reply)
        token = reply.get("nextPageToken", "")
        if not token:
            break
        if len(walked) < 100:
            bgsave(server, master)  # lines are written (and files rotated) between pages
    full = everything(server, cluster_id)
    assert walked == full[: len(walked)]
    assert len(set(walked)) == len(walked)
    assert any("DB saved on disk" in message for *_, message in walked)


def test_filters_columns_and_times_narrow_the_records(server: RunningServer, cluster: dict[str, Any]) -> None:
    cluster_id = cluster["id"]
    first, second = sorted(h["name"] for h in hosts_of(server, cluster_id))
    full = everything(server, cluster_id)
    only_first = everything(server, cluster_id, filter=f"message.hostname = '{first}'")
    assert only_first and {host for _, host, _, _ in only_first} == {first}
    not_first = everything(server, cluster_id, filter=f'message.hostname != "{first}"')
    assert {host for _, host, _, _ in not_first} == {second}
    both = everything(server, cluster_id, filter=f"message.hostname IN ('{first}', '{second}')")
    assert both[: len(full)] == full
    none = everything(server, cluster_id, filter=f"message.hostname NOT IN ('{first}', '{second}')")
    assert none == []

    reply = json_object(list_logs(server, cluster_id, pageSize=5, columnFilter=["hostname", "role"]))
    assert reply["logs"] and all(set(r["message"]) <= {"hostname", "role"} for r in reply["logs"])

    middle = full[len(full) // 2][0]
    later = everything(server, cluster_id, fromTime=middle)
    assert later and all(timestamp >= middle for timestamp, *_ in later)
    earlier = everything(server, cluster_id, toTime=middle)
    assert earlier and all(timestamp < middle for timestamp, *_ in earlier)

    newest = json_object(list_logs(server, cluster_id, pageSize=3, orderBy='[{"field":"TIMESTAMP","order":"DESC"}]'))
    assert [r[0] for r in records(newest)] == sorted((r[0] for r in records(newest)), reverse=True)
    assert records(newest)[0][0] >= full[-1][0]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"filter": "message.hostname = 'a' OR message.hostname = 'b'"}, "position 24"),
        ({"filter": "message.role = 'M'"}, "message.role"),
        ({"filter": "message.hostname = 'UPPER'"}, "position 20"),
        ({"fromTime": "2026-01-02T00:00:00Z", "toTime": "2026-01-01T00:00:00Z"}, "to_time"),
        ({"pageToken": "not-a-token"}, "page_token"),
        ({"columnFilter": "severity"}, "column_filter"),
        ({"orderBy": "TIMESTAMP DESC"}, "order_by"),
    ],
)
def test_bad_requests_are_invalid_argument_saying_what(
    server: RunningServer, cluster: dict[str, Any], params: dict[str, Any], says: str
) -> None:
    response = list_logs(server, cluster["id"], **params)
    assert response.status_code == 400, response.text
    assert says in response.json()["message"]


def test_viewers_read_logs_and_auditors_do_not(server: RunningServer, cluster: dict[str, Any]) -> None:
    assert list_logs(server, cluster["id"], token=VIEWER, pageSize=1).status_code == 200
    assert list_logs(server, cluster["id"], token=AUDITOR, pageSize=1).status_code == 403
    assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}", token=AUDITOR).status_code == 200


def test_audit_logs_are_an_empty_list(server: RunningServer, cluster: dict[str, Any]) -> None:
    reply = json_object(list_logs(server, cluster["id"], serviceType="VALKEY_AUDIT"))
    assert reply.get("logs", []) == []


def test_rotation_loses_no_line(server: RunningServer, cluster: dict[str, Any]) -> None:
    master = master_of(server, cluster["id"])
    for _ in range(10):
        bgsave(server, master)
    client = admin_client(server, master)
    wait_until(lambda: client.info("persistence")["rdb_bgsave_in_progress"] == 0, timeout_s=30)
    directory = Path(server.data_dir) / "hosts" / master
    assert len(list(directory.glob("redis.log.*"))) >= 2, "no rotation happened"
    on_disk = wait_until(lambda: _settled_lines(directory), timeout_s=30, message="the files kept changing")
    assert on_disk is not None
    listed = everything(server, cluster["id"], filter=f"message.hostname = '{master}'")
    now = dt.datetime.now(dt.UTC)
    written = sorted(line.message if (line := parse_line(text, now)) else text for text in on_disk)
    assert sorted(message for _, _, role, message in listed if role != "X") == written
    assert sum("DB saved on disk" in message for message in written) >= 10


def _settled_lines(directory: Path) -> list[str] | None:
    """Every line of the host's redis logs, if no file changed while they were read (a
    rotation renames files every 0.2 s here)."""

    def look() -> tuple[list[tuple[str, int]], list[str]]:
        paths = sorted(directory.glob("redis.log*"))
        return [(p.name, p.stat().st_size) for p in paths], [line for p in paths for line in p.read_text().splitlines()]

    before, lines = look()
    time.sleep(0.5)
    after, _ = look()
    return lines if before == after else None


# -- StreamLogs -------------------------------------------------------------------------------


def _rest_stream(server: RunningServer, cluster_id: str, out: queue.Queue[Any]) -> None:
    """The status, then each element of the REST stream's JSON array as it comes (the array
    is written one element a line: ``[``, then ``,`` before each next one)."""
    url = f"{server.rest_url}/managed-redis/v1/clusters/{cluster_id}:stream_logs"
    headers = {"Authorization": f"Bearer {VIEWER}"}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=120) as response:
            out.put(response.status_code)
            body = ""
            for chunk in response.iter_content(chunk_size=None):
                body += chunk.decode()
                *lines, body = body.split("\n")
                for line in lines:
                    assert line[:1] in ("[", ","), line
                    out.put(json.loads(line[1:]))
    except requests.RequestException:
        pass  # the server stopped at the end of the module


def _wait_for(items: queue.Queue[Any], predicate: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        item = items.get(timeout=max(0.1, deadline - time.monotonic()))
        if predicate(item):
            return item
    raise AssertionError("the stream did not bring it in time")


def test_rest_stream_follows_new_lines_as_one_json_array(server: RunningServer, cluster: dict[str, Any]) -> None:
    items: queue.Queue[Any] = queue.Queue()
    reader = threading.Thread(target=_rest_stream, args=(server, cluster["id"], items), daemon=True)
    reader.start()
    assert items.get(timeout=30) == 200
    first = items.get(timeout=30)
    assert set(first) == {"record", "nextRecordToken"}
    time.sleep(1)  # past the records there were: what follows comes from following the files
    bgsave(server, master_of(server, cluster["id"]))
    saved = _wait_for(
        items, lambda item: item is not None and "DB saved on disk" in item["record"]["message"]["message"]
    )
    assert saved["record"]["timestamp"] >= first["record"]["timestamp"]


def test_grpc_stream_follows_a_backup_and_ends_when_the_cluster_is_deleted(server: RunningServer) -> None:
    cluster = create_cluster(server, "streamed", hosts=1)
    channel = grpc.secure_channel(server.grpc_addr, grpc.ssl_channel_credentials(server.ca_pem))
    stub = ClusterServiceStub(channel)
    metadata = [("authorization", f"Bearer {VIEWER}")]
    stream = stub.StreamLogs(cs.StreamClusterLogsRequest(cluster_id=cluster["id"]), metadata=metadata, timeout=180)
    items: queue.Queue[Any] = queue.Queue()

    def read() -> None:
        try:
            for item in stream:
                items.put(item)
            items.put("ended")
        except grpc.RpcError as error:
            items.put(error)

    threading.Thread(target=read, daemon=True).start()
    first = items.get(timeout=30)
    assert isinstance(first, cs.StreamLogRecord) and first.next_record_token
    bgsave(server, hosts_of(server, cluster["id"])[0]["name"])
    _wait_for(
        items,
        lambda item: isinstance(item, cs.StreamLogRecord) and item.record.message["message"] == "DB saved on disk",
    )

    # A token from the stream goes on a ListLogs page after that very record.
    after = json_object(list_logs(server, cluster["id"], pageToken=first.next_record_token, pageSize=1))
    assert records(after) and records(after)[0][0] >= first.record.timestamp.ToJsonString()

    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster['id']}")
    assert _wait_for(items, lambda item: not isinstance(item, cs.StreamLogRecord)) == "ended"
    channel.close()


def test_a_stopped_clusters_logs_are_listed_from_its_files(server: RunningServer) -> None:
    cluster = create_cluster(server, "stopped-logs", hosts=1)
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster['id']}:stop")
    messages = [message for *_, message in everything(server, cluster["id"])]
    assert ready_line() in messages
    assert any("ready to exit" in message for message in messages), messages[-5:]
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster['id']}")
    assert list_logs(server, cluster["id"]).status_code == 404


def test_a_sharded_clusters_logs_are_every_nodes(server: RunningServer) -> None:
    body = create_body("sharded-logs", hosts=3, sharded=True)
    for index, host in enumerate(body["hostSpecs"]):
        host["shardName"] = f"s{index + 1}"
    cluster = run(server, "POST", "/managed-redis/v1/clusters", body)["response"]
    found = everything(server, cluster["id"])
    hosts = {h["name"] for h in hosts_of(server, cluster["id"])}
    assert {host for _, host, _, message in found if message == ready_line()} == hosts
    assert any("Cluster state changed: ok" in message for *_, message in found)
    assert "X" not in {role for _, _, role, _ in found}  # no Sentinel runs beside Redis Cluster
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster['id']}")
