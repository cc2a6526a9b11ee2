"""The CLI's progress line while it waits for an operation: the step the server names, or
the count of steps seen to finish from a server that names none."""

from __future__ import annotations

import io
from typing import Any

import pytest

from managed_redis.client_cli import waiting
from managed_redis.client_cli.api_client import AnswerError

RUNNING = {"id": "op1", "description": "Create Redis cluster", "metadata": {"clusterId": "c1"}, "done": False}


class Server:
    """Answers GET /operations/op1 and the progress page from scripted lists, in turn."""

    def __init__(self, operations: list[dict[str, Any]], progress: list[dict[str, Any]] | None) -> None:
        self.operations = operations
        self.progress = progress

    def call(self, method: str, path: str, body: Any = None, query: Any = None) -> dict[str, Any]:
        if path == waiting.PROGRESS_PATH:
            if self.progress is None:
                raise AnswerError(5, "no such page")
            return self.progress.pop(0)
        return self.operations.pop(0)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "POLL_S", 0)


def test_the_line_names_the_running_step_and_how_many_are_done() -> None:
    server = Server(
        [{**RUNNING, "modifiedAt": "b"}, {**RUNNING, "done": True, "response": {}}],
        [
            {"stepsDone": [], "currentStep": "claim the addresses"},
            {"stepsDone": ["claim the addresses"], "currentStep": "start shard shard1"},
        ],
    )
    out = io.StringIO()
    waiting.wait(server, {**RUNNING, "modifiedAt": "a"}, out)  # type: ignore[arg-type]
    lines = out.getvalue().splitlines()
    assert "step 'claim the addresses'" in lines[0] and "done)" not in lines[0]
    assert "step 'start shard shard1' (1 done)" in lines[1]
    assert lines[-1].startswith("done Create Redis cluster (cluster c1): operation op1")


def test_a_server_without_the_page_gets_the_steps_counted() -> None:
    server = Server([{**RUNNING, "modifiedAt": "b"}, {**RUNNING, "modifiedAt": "c"}, {**RUNNING, "done": True}], None)
    out = io.StringIO()
    waiting.wait(server, {**RUNNING, "modifiedAt": "a"}, out)  # type: ignore[arg-type]
    lines = out.getvalue().splitlines()
    assert "step" not in lines[0]
    assert lines[1].endswith("1 step done") and lines[2].endswith("2 steps done")


def test_a_failed_operation_raises_its_own_error() -> None:
    failed = {**RUNNING, "done": True, "error": {"code": 9, "message": "the cluster is stopped"}}
    server = Server([failed], [{"stepsDone": [], "currentStep": "check"}])
    with pytest.raises(AnswerError) as raised:
        waiting.wait(server, RUNNING, io.StringIO())  # type: ignore[arg-type]
    assert (raised.value.rpc_code, str(raised.value)) == (9, "the cluster is stopped")
