"""Fuzz: every REST route and every gRPC method of the API, with hostile input generated from
the API's own descriptors (``tests/support/hostile.py``), against one real server.

Each route gets hostile verbs, path values, query strings, bodies and headers, with and
without a valid token (admin, viewer, another folder's editor, garbage); each gRPC method
gets hostile binary messages and metadata. Every reply must hold to what a user of the API
may count on:

- no 5xx, but 501 (UNIMPLEMENTED) for what this server does not build;
- every error is a google.rpc.Status (REST: the JSON body, its code matching the HTTP
  status; gRPC: the ``grpc-status-details-bin`` trailer matching the status);
- no internal path, trace, Python or aiohttp version in any reply;
- a refused request changes nothing: the folder's clusters, their operations, hosts,
  shards, users, access bindings, backups and retention policies are read before and
  after, as an admin, and must be the same.

The server runs no worker, so a request that is accepted leaves a queued operation, which
the test cancels (that undoes it) before going on: one real cluster stays the target.
``--fuzz-examples N`` (or ``MREDIS_FUZZ_EXAMPLES``) sets the examples per route and per
method; the default keeps ``make test`` quick.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.protobuf import json_format
from google.rpc import status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import managed_redis
from managed_redis.api.methods import Method, build_method_table
from managed_redis.api.status import http_status
from managed_redis.api.transcoding import Route, Router
from tests.conftest import DEFAULT_FUZZ_EXAMPLES
from tests.support import hostile
from tests.support.clusters import FOLDER, create_body, run
from tests.support.processes import kill_all
from tests.support.raw_http import RawReply, request_bytes, send_raw
from tests.support.server import RunningServer, host_network, running_server, write_tokens

# One server for the module: its tests stay on one xdist worker.
pytestmark = pytest.mark.xdist_group("fuzz")

METHODS = build_method_table({})
ROUTER = Router(METHODS)
ROUTES = ROUTER.routes
OTHER_FOLDER = "b1gfuzzother00000001"
VIEWER, OUTSIDER = "fuzz-viewer-token-0123456789", "fuzz-outsider-token-0123456789"
OPERATION = "yandex.cloud.operation.Operation"
# Replies may carry none of these (unless the request itself did).
SOURCE_DIR = str(Path(managed_redis.__file__).parent)
MARKERS = ["Traceback", "site-packages", SOURCE_DIR, "Python/3", "CPython", "aiohttp/", 'File "']
# gRPC codes that stand for a failure of the server (HTTP 5xx), UNIMPLEMENTED aside.
SERVER_FAILURES = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.DATA_LOSS,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}


@dataclass
class Target:
    """The server under fuzz, what exists in it, and the state a refused request must keep."""

    server: RunningServer
    ids: dict[str, list[str]]
    session: requests.Session = field(default_factory=requests.Session)
    baseline: dict[str, Any] = field(default_factory=dict)
    channel: grpc.Channel | None = None

    def tokens(self) -> list[str | None]:
        return [None, self.server.admin_token, self.server.admin_token, VIEWER, OUTSIDER, "not-a-token"]

    def get(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.server.admin_token}"}
        response = self.session.get(self.server.rest_url + path, headers=headers, timeout=60)
        if response.status_code == 501:
            return None  # a list this server does not build (UserService, say) holds nothing
        assert response.status_code == 200, (path, response.text)
        return response.json()

    def snapshot(self) -> dict[str, Any]:
        """What the folders hold, read as an admin, without what the supervisor's looks change."""
        state: dict[str, Any] = {}
        for folder in (FOLDER, OTHER_FOLDER):
            state[f"clusters {folder}"] = self.get(f"/managed-redis/v1/clusters?folderId={folder}")
            state[f"backups {folder}"] = self.get(f"/managed-redis/v1/backups?folderId={folder}")
            state[f"policies {folder}"] = self.get(f"/managed-redis/v1/folders/{folder}/retention_policies")
            for cluster in state[f"clusters {folder}"].get("clusters", []):
                base = f"/managed-redis/v1/clusters/{cluster['id']}"
                for part in ("/operations", "/hosts", "/shards", "/users", ":listAccessBindings"):
                    state[cluster["id"] + part] = self.get(base + part)
        looks_removed: dict[str, Any] = _without_looks(state)
        return looks_removed

    def assert_unchanged(self, what: str) -> None:
        assert self.snapshot() == self.baseline, f"a refused request changed the state: {what}"

    def assert_no_markers(self, text: str, sent: bytes, what: str) -> None:
        """No trace, version or server path in ``text`` (unless the request sent it)."""
        sent_text = sent.decode("latin-1")
        for marker in [*MARKERS, str(self.server.data_dir)]:
            if marker not in sent_text:
                assert marker not in text, f"{marker!r} in the reply: {what}"

    def settle(self, operation: dict[str, Any] | None) -> None:
        """After an accepted request: cancel the operation it queued, if any (that undoes
        it), then take the state as it is now for the next comparisons."""
        if operation is not None and not operation.get("done"):
            headers = {"Authorization": f"Bearer {self.server.admin_token}"}
            url = f"{self.server.rest_url}/operations/{operation['id']}:cancel"
            cancelled = self.session.post(url, headers=headers, timeout=60).json()
            assert cancelled.get("done"), cancelled
        self.baseline = self.snapshot()


def _without_looks(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_looks(v) for k, v in value.items() if k not in ("health", "services")}
    if isinstance(value, list):
        return [_without_looks(item) for item in value]
    return value


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    network = host_network()
    data_dir = tmp_path_factory.mktemp("fuzz")
    write_tokens(
        data_dir,
        [
            {"subject": "viewer", "token": VIEWER, "roles": {FOLDER: ["managed-redis.viewer"]}},
            {"subject": "outsider", "token": OUTSIDER, "roles": {OTHER_FOLDER: ["managed-redis.editor"]}},
        ],
    )
    env = {"MREDIS_HOST_NETWORK": network}
    try:
        with running_server(data_dir, "--embedded-worker", "false", env=env) as server:
            cluster = _create_target_cluster(server, data_dir, env)
            ids = {
                "cluster_id": [cluster["id"]],
                "resource_id": [cluster["id"]],
                "folder_id": [FOLDER, OTHER_FOLDER],
                "operation_id": [cluster["operation"]],
                "shard_name": [cluster["shard"]],
                "resource_preset_id": ["hm1.nano"],
                "api_endpoint_id": ["managed-redis"],
            }
            fuzz = Target(server, ids)
            fuzz.channel = grpc.secure_channel(server.grpc_addr, grpc.ssl_channel_credentials(server.ca_pem))
            fuzz.baseline = fuzz.snapshot()
            yield fuzz
            fuzz.channel.close()
    finally:
        kill_all(network)


def _create_target_cluster(server: RunningServer, data_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """One real cluster of one host, made by a worker that stops once it is made."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "managed_redis", "worker", "--data-dir", str(data_dir)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = create_body("fuzz-target", hosts=1)
        # No automatic backup may start during the run: its window is half a day away.
        body["configSpec"]["backupWindowStart"] = {"hours": (dt.datetime.now(dt.UTC).hour + 12) % 24}
        done = run(server, "POST", "/managed-redis/v1/clusters", body)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    cluster_id = done["response"]["id"]
    shards = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}/shards").json()["shards"]
    return {"id": cluster_id, "operation": done["id"], "shard": shards[0]["name"]}


def _settings(examples: int) -> settings:
    """The suite's bounded run draws the same examples every time (CI never flakes on a
    draw); a longer run (``--fuzz-examples N``) draws new ones each time."""
    return settings(
        max_examples=examples,
        derandomize=examples == DEFAULT_FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


# -- REST -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestRequest:
    verb: str
    target: str
    headers: dict[str, str]
    body: bytes

    def bytes(self) -> bytes:
        return request_bytes(self.verb, self.target, self.headers, self.body)


def _path(route: Route, ids: dict[str, list[str]]) -> st.SearchStrategy[str]:
    parts = route.template.replace("}", "{").split("{")
    strategies: list[st.SearchStrategy[str]] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            strategies.append(st.just(part))
        else:
            name = part.split("=")[0]
            strategies.append(hostile.path_segment(ids.get(name.split(".")[-1], [])))
    junk = st.sampled_from(["", "", "", "", "/", "/x", ":nope", "%2F..", "//", "/.."])
    return st.tuples(*strategies, junk).map("".join)


@st.composite
def rest_requests(draw: st.DrawFn, route: Route, fuzz: Target) -> RestRequest:
    descriptor = route.method.request_type.DESCRIPTOR
    verb = draw(st.one_of(st.just(route.verb), st.just(route.verb), st.sampled_from(hostile.VERBS)))
    path = draw(_path(route, fuzz.ids))
    takes_body = route.body == "*"
    query = (
        draw(st.just("") | hostile.query_string(descriptor)) if takes_body else draw(hostile.query_string(descriptor))
    )
    body = draw(hostile.json_body(descriptor)) if takes_body or draw(st.booleans()) else b""
    headers: dict[str, str] = {}
    token = draw(st.sampled_from(fuzz.tokens()))
    authorization = draw(
        st.sampled_from([f"Bearer {token}", f"bearer   {token}  ", f"Basic {token}", "Bearer", "Bearer " + "t" * 9000])
        if token
        else st.none() | hostile.header_value()
    )
    if authorization is not None:
        headers["Authorization"] = authorization
    content_type = draw(st.sampled_from(["application/json", "text/plain", "", "application/json; charset=latin-1"]))
    if content_type:
        headers["Content-Type"] = content_type
    if draw(st.booleans()):
        headers["Idempotency-Key"] = draw(hostile.header_value())
    if draw(st.booleans()):
        name = draw(st.sampled_from(["X-Request-Id", "Expect", "Accept", "X-Forwarded-For", "Range", "Cookie"]))
        headers[name] = draw(hostile.header_value())
    if draw(st.integers(0, 4)) == 0:
        encodings = ["gzip", "deflate", "br", "identity", "zstd", "x", "gzip, gzip"]
        headers["Content-Encoding"] = draw(st.sampled_from(encodings))
    if draw(st.integers(0, 9)) == 0:
        headers["Transfer-Encoding"] = draw(st.sampled_from(["chunked", "gzip, chunked", "x"]))
    return RestRequest(verb, path + query, headers, body)


def _route_id(route: Route) -> str:
    return f"{route.verb} {route.template}"


@pytest.mark.parametrize("route", ROUTES, ids=_route_id)
def test_rest_route_withstands_hostile_requests(target: Target, fuzz_examples: int, route: Route) -> None:
    @_settings(fuzz_examples)
    @given(request=rest_requests(route, target))
    def attempt(request: RestRequest) -> None:
        sent = request.bytes()
        served = _served(request)
        streaming = served is not None and served.server_streaming
        reply = send_raw(target.server.rest_url, sent, body_timeout_s=3 if streaming else None)
        check_rest_reply(target, served, request, sent, reply)

    attempt()


def _served(request: RestRequest) -> Method | None:
    """The method the server routes the request to (a wrong verb may reach another one)."""
    try:
        route, _ = ROUTER.match(request.verb, request.target.split("?", 1)[0])
    except Exception:
        return None
    return route.method


def _returns_operation(method: Method | None) -> bool:
    return method is not None and method.response_type.DESCRIPTOR.full_name == OPERATION


def check_rest_reply(fuzz: Target, served: Method | None, request: RestRequest, sent: bytes, reply: RawReply) -> None:
    """``served``: the method the request reached, None if it reached none."""
    what = f"{request.verb} {request.target[:200]} -> {reply.status} {reply.body[:600]!r}"
    assert reply.status < 500 or reply.status == 501, what
    assert reply.headers.get("server") == "managed-redis", what
    head = " ".join(f"{name}: {value}" for name, value in reply.headers.items())
    fuzz.assert_no_markers(head + reply.body.decode("utf-8", "replace"), sent, what)
    if 200 <= reply.status < 300:
        if reply.complete and served is not None and not served.server_streaming:
            fuzz.settle(json.loads(reply.body) if _returns_operation(served) else None)
        return
    if request.verb != "HEAD":
        assert reply.headers.get("content-type", "").startswith("application/json"), what
        status = json_format.ParseDict(json.loads(reply.body), status_pb2.Status())
        assert status.code != 0 and status.message, what
        if reply.status == 405:
            assert status.code == 12 and reply.headers.get("allow"), what
        else:
            assert http_status(status.code) == reply.status, what
    if _returns_operation(served) or request.verb not in ("GET", "HEAD"):
        fuzz.assert_unchanged(what)


# -- gRPC -----------------------------------------------------------------------------------


@st.composite
def grpc_calls(draw: st.DrawFn, method: Method, fuzz: Target) -> tuple[bytes, list[tuple[str, str]]]:
    data = draw(hostile.proto_bytes(method.request_type.DESCRIPTOR))
    metadata = []
    token = draw(st.sampled_from(fuzz.tokens()))
    if token is not None:
        metadata.append(
            ("authorization", draw(st.sampled_from([f"Bearer {token}", f"Basic {token}", "Bearer ", token])))
        )
    if draw(st.booleans()):
        printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
        metadata.append(("idempotency-key", draw(st.text(printable, max_size=80))))
    return data, metadata


def _method_id(method: Method) -> str:
    return method.name


@pytest.mark.parametrize("method", METHODS, ids=_method_id)
def test_grpc_method_withstands_hostile_messages(target: Target, fuzz_examples: int, method: Method) -> None:
    @_settings(fuzz_examples)
    @given(call=grpc_calls(method, target))
    def attempt(call: tuple[bytes, list[tuple[str, str]]]) -> None:
        data, metadata = call
        check_grpc_call(target, method, data, metadata)

    attempt()


def check_grpc_call(fuzz: Target, method: Method, data: bytes, metadata: list[tuple[str, str]]) -> None:
    assert fuzz.channel is not None
    what = f"{method.name}({data[:200]!r}, {[(k, v[:40]) for k, v in metadata]})"
    try:
        if method.server_streaming:
            items = fuzz.channel.unary_stream(method.grpc_path)(data, metadata=metadata, timeout=3)
            for _, _item in zip(range(3), items, strict=False):
                pass
            return
        answer = fuzz.channel.unary_unary(method.grpc_path)(data, metadata=metadata, timeout=60)
    except grpc.RpcError as error:
        if method.server_streaming and error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            return  # our own deadline on a stream that follows new records
        check_grpc_error(fuzz, method, data, error, what)
        return
    response = method.response_type.FromString(answer)
    fuzz.settle(json_format.MessageToDict(response) if response.DESCRIPTOR.full_name == OPERATION else None)


def check_grpc_error(fuzz: Target, method: Method, data: bytes, error: grpc.RpcError, what: str) -> None:
    code, details = error.code(), error.details() or ""
    what = f"{what} -> {code.name}: {details[:300]}"
    assert code not in SERVER_FAILURES, what
    if code == grpc.StatusCode.UNIMPLEMENTED:
        assert details, what  # says what is not built: the method, or a feature of it
    trailers = dict(error.trailing_metadata() or ())
    assert "grpc-status-details-bin" in trailers, what
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert (status.code, status.message) == (code.value[0], details), what
    fuzz.assert_no_markers(details, data, what)
    if method.response_type.DESCRIPTOR.full_name == OPERATION:
        fuzz.assert_unchanged(what)


# -- found by fuzzing, kept as plain tests -----------------------------------------------------


def test_failover_away_from_a_host_the_cluster_lacks_names_it(target: Target) -> None:
    """Once an INTERNAL (a LookupError from deep inside); now the caller's error, naming the host."""
    cluster_id = target.ids["cluster_id"][0]
    response = target.server.rest(
        "POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", json={"hostNames": ["rc1a-nothere"]}
    )
    assert response.status_code in (400, 404), response.text
    assert "rc1a-nothere" in response.json()["message"] and cluster_id in response.json()["message"]
    target.assert_unchanged("StartFailover from an unknown host")
