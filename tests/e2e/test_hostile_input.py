"""Hostile requests a fuzz run found, each answered as a user expects: a google.rpc.Status
with the right code naming what is wrong, from the REST gateway, aiohttp's own parser and
the gRPC server alike; no Python or aiohttp version, no server path, nothing changed."""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import requests
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs

from tests.support.clusters import FOLDER, create_body, wait_operation
from tests.support.processes import kill_all
from tests.support.raw_http import request_bytes, send_raw
from tests.support.server import RunningServer, host_network, running_server

CLUSTERS = "/managed-redis/v1/clusters"
# One server for the module: its tests stay on one xdist worker.
pytestmark = pytest.mark.xdist_group("hostile-input")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose host network has two addresses: ``.1`` and ``.2``."""
    network = _small_network()
    try:
        with running_server(tmp_path_factory.mktemp("hostile"), env={"MREDIS_HOST_NETWORK": network}) as running:
            yield running
    finally:
        kill_all(network)


def _small_network() -> str:
    return str(next(ipaddress.IPv4Network(host_network()).subnets(new_prefix=30)))


def status_of(body: bytes) -> status_pb2.Status:
    """The body as a google.rpc.Status; fails the test if it is anything else."""
    return json_format.ParseDict(json.loads(body), status_pb2.Status())


def assert_status_reply(response: requests.Response, http_status: int, code: int) -> status_pb2.Status:
    assert response.status_code == http_status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Server"] == "managed-redis"
    status = status_of(response.content)
    assert status.code == code
    return status


def test_deeply_nested_json_is_refused_after_authentication(server: RunningServer) -> None:
    body = b"[" * 200_000 + b"]" * 200_000
    anonymous = server.rest("POST", CLUSTERS, token=None, data=body, headers={"Content-Type": "application/json"})
    assert_status_reply(anonymous, 401, code_pb2.UNAUTHENTICATED)
    nested = server.rest("POST", CLUSTERS, data=body, headers={"Content-Type": "application/json"})
    status = assert_status_reply(nested, 400, code_pb2.INVALID_ARGUMENT)
    assert status.message == "request body nests too deeply"
    assert "Traceback" not in server.log()


@pytest.mark.parametrize(
    "path",
    [
        f"{CLUSTERS}?folderId={FOLDER}",
        f"/managed-redis/v1/backups?folderId={FOLDER}",
        "/managed-redis/v1/resourcePresets?",
        "/managed-redis/v1/versions?",
    ],
)
@pytest.mark.parametrize(
    "token",
    [
        "%C3%BF%C3%BF%C3%BF%C3%BF",  # "ÿÿÿÿ": not ASCII
        base64.urlsafe_b64encode(b"9" * 40 + b"\x1fc9q").decode(),  # past year 9999
        base64.urlsafe_b64encode(b"1\x1fc9q\x00x").decode(),  # a NUL
        base64.urlsafe_b64encode("²".encode()).decode(),  # a digit only int() reads
    ],
)
def test_crafted_page_tokens_are_invalid_argument_on_lists(server: RunningServer, path: str, token: str) -> None:
    response = server.rest("GET", f"{path}&pageToken={token}")
    status = assert_status_reply(response, 400, code_pb2.INVALID_ARGUMENT)
    assert status.message == "page_token: not a token this server issued"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"configSpec": {"redis": {"maxmemoryPolicy": 99}}},
            "config_spec.redis.maxmemory_policy: 99 is not a MaxmemoryPolicy; use one of VOLATILE_LRU",
        ),
        ({"persistenceMode": 77}, "persistence_mode: 77 is not a PersistenceMode; use one of ON, OFF, ON_REPLICAS"),
        ({"persistenceMode": "SOMETIMES"}, 'persistence_mode: "SOMETIMES" is not a PersistenceMode'),
    ],
)
def test_unknown_enum_values_are_invalid_argument_naming_the_field(
    server: RunningServer, body: dict[str, Any], message: str
) -> None:
    create = create_body("enums", hosts=1)
    create.setdefault("configSpec", {}).setdefault("redis", {}).update(body.get("configSpec", {}).get("redis", {}))
    create.update({key: value for key, value in body.items() if key != "configSpec"})
    before = server.rest("GET", f"{CLUSTERS}?folderId={FOLDER}").json()
    response = server.rest("POST", CLUSTERS, json=create)
    status = assert_status_reply(response, 400, code_pb2.INVALID_ARGUMENT)
    assert status.message.startswith(message)
    (bad_request,) = [d for d in status.details if d.Is(error_details_pb2.BadRequest.DESCRIPTOR)]
    violations = error_details_pb2.BadRequest()
    bad_request.Unpack(violations)
    assert [v.field for v in violations.field_violations] == [message.split(":")[0]]
    assert server.rest("GET", f"{CLUSTERS}?folderId={FOLDER}").json() == before  # nothing was created


def _grpc_call(server: RunningServer, path: str, data: bytes, token: str | None) -> grpc.RpcError:
    channel = grpc.secure_channel(server.grpc_addr, grpc.ssl_channel_credentials(server.ca_pem))
    try:
        call = channel.unary_unary(path)  # no serializers: the bytes go as they are
        metadata = [("authorization", f"Bearer {token}")] if token else []
        with pytest.raises(grpc.RpcError) as caught:
            call(data, metadata=metadata, timeout=30)
        return caught.value
    finally:
        channel.close()


def _details(error: grpc.RpcError) -> status_pb2.Status:
    trailers = dict(error.trailing_metadata() or ())
    return status_pb2.Status.FromString(trailers["grpc-status-details-bin"])


@pytest.mark.parametrize(
    "data",
    [b"\xff\xff\xff", b"\x0a\x05ab", b"\x0a\x02\xc3\x28", b"\x0b" * 50, b"\x0a\x80\x80\x80\x80\x10"],
    ids=["bad-tag", "truncated", "bad-utf8", "start-groups", "huge-length"],
)
def test_malformed_protobuf_over_grpc_is_invalid_argument(server: RunningServer, data: bytes) -> None:
    path = "/yandex.cloud.mdb.redis.v1.ClusterService/Get"
    error = _grpc_call(server, path, data, server.admin_token)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "the request is not a valid yandex.cloud.mdb.redis.v1.GetClusterRequest"
    assert _details(error).code == code_pb2.INVALID_ARGUMENT
    anonymous = _grpc_call(server, path, data, None)
    assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED


def test_unknown_enum_numbers_over_grpc_are_invalid_argument(server: RunningServer) -> None:
    request = cs.UpdateClusterRequest(
        cluster_id="c9qnothere", persistence_mode=cluster_pb2.Cluster.PersistenceMode.ValueType(77)
    )
    error = _grpc_call(
        server, "/yandex.cloud.mdb.redis.v1.ClusterService/Update", request.SerializeToString(), server.admin_token
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("persistence_mode: 77 is not a PersistenceMode")


def test_wrong_verb_is_405_with_allow(server: RunningServer) -> None:
    response = server.rest("PUT", f"{CLUSTERS}/c9qanything")
    status = assert_status_reply(response, 405, code_pb2.UNIMPLEMENTED)
    assert response.headers["Allow"] == "DELETE, GET, PATCH"
    assert status.message == f"PUT is not supported on {CLUSTERS}/c9qanything; use DELETE or GET or PATCH"
    options = server.rest("OPTIONS", CLUSTERS)
    assert_status_reply(options, 405, code_pb2.UNIMPLEMENTED)
    assert options.headers["Allow"] == "GET, POST"


@pytest.mark.parametrize(
    "data",
    [
        b"GET /managed-redis/v1/clusters HTTP/1.1\r\nHost: api\r\nBad Header\r\n\r\n",
        b"GET /\x01secret-echo HTTP/1.1\r\nHost: api\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03secret-echo\r\n\r\n",
        b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: api\r\n\r\n",
        b"POST /managed-redis/v1/clusters HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/1.1\r\nHost: api\r\nX: " + b"b" * 20_000 + b"\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: api\r\n\r\n",
    ],
    ids=["bad-header", "control-char", "tls-hello", "long-line", "bad-chunk", "long-header", "asterisk"],
)
def test_what_aiohttp_refuses_is_a_status_without_echo(server: RunningServer, data: bytes) -> None:
    reply = send_raw(server.rest_url, data)
    assert reply.status == 400
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.headers["server"] == "managed-redis"
    status = status_of(reply.body)
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert status.message.startswith("the HTTP request could not be read")
    assert b"secret-echo" not in reply.body and b"aaaa" not in reply.body


@pytest.mark.parametrize("target", ["/", "/managed-redis/v1/clusters%0A/x", "http://elsewhere/nope", "/%ff%fe"])
def test_paths_no_method_has_are_404_status(server: RunningServer, target: str) -> None:
    reply = send_raw(server.rest_url, request_bytes("GET", target, {"Authorization": f"Bearer {server.admin_token}"}))
    assert reply.status == 404, reply.body
    assert reply.headers["server"] == "managed-redis"
    assert status_of(reply.body).code == code_pb2.NOT_FOUND


def test_no_reply_names_python_or_aiohttp(server: RunningServer) -> None:
    for response in (
        server.rest("GET", "/managed-redis/v1/resourcePresets"),
        server.rest("GET", "/managed-redis/v1/resourcePresets", token=None),
        server.rest("GET", "/nowhere"),
    ):
        assert response.headers["Server"] == "managed-redis"
        assert "Python" not in response.text and "aiohttp" not in response.text


def test_a_full_host_network_is_resource_exhausted(server: RunningServer) -> None:
    before = server.rest("GET", f"{CLUSTERS}?folderId={FOLDER}").json()
    response = server.rest("POST", CLUSTERS, json=create_body("three-hosts", hosts=3))
    status = assert_status_reply(response, 429, code_pb2.RESOURCE_EXHAUSTED)
    network = ipaddress.IPv4Network(server.network)
    assert status.message.startswith(f"the host network {network} has 2 free addresses and 3 hosts need one each")
    assert server.rest("GET", f"{CLUSTERS}?folderId={FOLDER}").json() == before


def test_an_operation_error_names_no_server_path(server: RunningServer) -> None:
    """A host whose address is taken cannot start: the operation says so, without the
    log file's path, which the server's own log keeps."""
    first_address = str(next(ipaddress.IPv4Network(server.network).hosts()))
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind((first_address, 6379))
        squatter.listen()
        response = server.rest("POST", CLUSTERS, json=create_body("squatted", hosts=1))
        assert response.status_code == 200, response.text
        done = wait_operation(server, response.json(), timeout_s=180)
    error = done["error"]
    assert error["message"] and "internal error" not in error["message"]
    assert str(server.data_dir) not in error["message"] and "/hosts/" not in error["message"]
    time.sleep(0.5)
    assert str(server.data_dir) in server.log()


def test_a_body_that_cannot_be_decoded_is_invalid_argument(server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}", "Content-Encoding": "gzip"}
    reply = send_raw(server.rest_url, request_bytes("POST", CLUSTERS, headers, b"this is no gzip stream"))
    assert reply.status == 400, reply.body
    status = status_of(reply.body)
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert "could not be read" in status.message
