"""GET /mredis/v1/operation-progress: the steps an operation has done and the one it runs,
followed while a real cluster is created; who may read it, and bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.clusters import FOLDER, create_body
from tests.support.processes import kill_all
from tests.support.server import RunningServer, host_network, json_object, running_server, write_tokens

PATH = "/mredis/v1/operation-progress"
OTHER_FOLDER = "b1gotherfolder000003"
TOKENS = {"viewer": "progress-viewer-token-01", "outsider": "progress-outsider-token1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("progress")
    write_tokens(
        data_dir,
        [
            {"subject": "viewer", "token": TOKENS["viewer"], "roles": {FOLDER: ["managed-redis.viewer"]}},
            {"subject": "outsider", "token": TOKENS["outsider"], "roles": {OTHER_FOLDER: ["managed-redis.admin"]}},
        ],
    )
    network = host_network()
    try:
        with running_server(data_dir, env={"MREDIS_HOST_NETWORK": network}) as running:
            yield running
    finally:
        kill_all(network)


def progress(server: RunningServer, operation_id: str, token: str | None = "admin") -> dict[str, Any]:
    response = server.rest("GET", PATH, token=token, params={"operationId": operation_id})
    assert response.status_code == 200, response.text
    return json_object(response)


@pytest.fixture(scope="module")
def followed(server: RunningServer) -> tuple[str, list[str], dict[str, Any]]:
    """A 3-host cluster's Create, followed to its end: (operation id, the current steps seen in
    the order seen, the last answer)."""
    response = server.rest("POST", "/managed-redis/v1/clusters", json=create_body("progressing", hosts=3))
    assert response.status_code == 200, response.text
    operation_id = json_object(response)["id"]
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answer = progress(server, operation_id)
        step = answer["currentStep"]
        if step and (not seen or seen[-1] != step):
            seen.append(step)
        if answer["done"]:
            return operation_id, seen, answer
        time.sleep(0.01)
    raise AssertionError(f"operation {operation_id} not done in 120 s; steps seen: {seen}")


def test_the_steps_of_a_create_are_named_as_they_run_and_listed_once_done(
    followed: tuple[str, list[str], dict[str, Any]],
) -> None:
    operation_id, seen, last = followed
    assert last["operationId"] == operation_id
    assert last["currentStep"] is None
    done = last["stepsDone"]
    assert len(done) >= 2, last
    # Every step named while it ran finished, in the order they ran.
    assert seen, "no step was ever named as running"
    assert [step for step in done if step in seen] == seen


def test_whoever_may_get_the_operation_may_follow_it(
    server: RunningServer, followed: tuple[str, list[str], dict[str, Any]]
) -> None:
    operation_id, _, last = followed
    assert progress(server, operation_id, TOKENS["viewer"]) == last
    # One who may not Get it is told what Get tells it (that it does not exist, as seen from
    # a folder it has no right in).
    got = server.rest("GET", f"/operations/{operation_id}", token=TOKENS["outsider"])
    response = server.rest("GET", PATH, token=TOKENS["outsider"], params={"operationId": operation_id})
    assert got.status_code in (403, 404), got.text
    assert (response.status_code, json_object(response)["code"]) == (got.status_code, json_object(got)["code"])


@pytest.mark.parametrize(
    ("params", "token", "status", "code"),
    [
        ({}, "admin", 400, 3),
        ({"operationId": "x" * 51}, "admin", 400, 3),
        ({"operationId": "c9qnosuchoperation00"}, "admin", 404, 5),
        ({"operationId": "c9qnosuchoperation00"}, None, 401, 16),
        ({"operationId": "c9qnosuchoperation00"}, "not-a-token", 401, 16),
    ],
    ids=["no id", "id too long", "unknown id", "no token", "bad token"],
)
def test_bad_calls_get_the_api_s_errors(
    server: RunningServer, params: dict[str, str], token: str | None, status: int, code: int
) -> None:
    response = server.rest("GET", PATH, token=token, params=params)
    assert response.status_code == status, response.text
    body = json_object(response)
    assert body["code"] == code
    if status == 400:
        assert "operationId" in body["message"]
    assert "Traceback" not in response.text
