"""Waiting for an operation, with a live progress line on stderr.

The API's ``Operation`` (``GET /operations/{id}``) says what it is doing only through its
``description``; the name of the step it runs is not part of the message. This server says
it beside the API (``GET /mredis/v1/operation-progress``, ``api/progress_page.py``), so the
line shows the description, the cluster or backup the metadata names, the time since it
started, the step running and how many are done. Against a server without that page the
line counts the steps seen to finish instead (each move of ``modifiedAt``, which a step's
checkpoint moves). On a terminal the line is rewritten in place; otherwise a line is
written each time it changes, so logs keep the steps.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from managed_redis.client_cli.api_client import AnswerError, ApiClient

POLL_S = 0.5
PROGRESS_PATH = "/mredis/v1/operation-progress"


def subject(operation: dict[str, Any]) -> str:
    """What the operation works on, from its metadata (``cluster c9q…``, ``backup …``)."""
    metadata = operation.get("metadata") or {}
    for key, noun in (("clusterId", "cluster"), ("backupId", "backup"), ("resourceId", "resource")):
        if metadata.get(key):
            return f"{noun} {metadata[key]}"
    return ""


class ProgressLine:
    """The progress line of one operation on ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.last = ""

    def show(self, text: str) -> None:
        if text == self.last:
            return
        self.last = text
        if self.live:
            self.stream.write("\r\033[K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self, text: str) -> None:
        if self.live:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        self.stream.flush()


def wait(client: ApiClient, operation: dict[str, Any], stream: TextIO | None = None) -> dict[str, Any]:
    """Poll ``operation`` until done, showing progress on ``stream`` (stderr); the finished
    operation. Raises AnswerError with the operation's own error when it failed."""
    line = ProgressLine(stream or sys.stderr)
    started = time.monotonic()
    counted, modified = 0, operation.get("modifiedAt")
    named = True  # the server names its steps, until it says it cannot
    on = subject(operation)
    what = operation.get("description", "operation") + (f" ({on})" if on else "")
    while not operation.get("done"):
        if operation.get("modifiedAt") != modified:
            counted, modified = counted + 1, operation.get("modifiedAt")
        steps = _steps(client, operation["id"]) if named else None
        named = steps is not None
        elapsed = int(time.monotonic() - started)
        line.show(f"... {what}: operation {operation['id']} running {elapsed} s{_said(steps, counted)}")
        time.sleep(POLL_S)
        operation = client.call("GET", f"/operations/{operation['id']}")
    error = operation.get("error")
    elapsed = int(time.monotonic() - started)
    line.close(f"{'failed' if error else 'done'} {what}: operation {operation['id']} ({elapsed} s)")
    if error:
        raise AnswerError(int(error.get("code", 2)), str(error.get("message", "the operation failed")))
    return operation


def _steps(client: ApiClient, operation_id: str) -> dict[str, Any] | None:
    """The server's account of the operation's steps; None if it has no such page (another
    implementation of the API) or refuses it."""
    try:
        return client.call("GET", PROGRESS_PATH, query={"operationId": operation_id})
    except AnswerError:
        return None


def _said(steps: dict[str, Any] | None, counted: int) -> str:
    """The steps part of the line: ``, step 'form the cluster' (2 done)``, or the count of
    steps seen to finish when the server does not name them."""
    if steps is None:
        return f", {counted} step{'s' if counted != 1 else ''} done" if counted else ""
    done = len(steps.get("stepsDone") or [])
    current = steps.get("currentStep")
    if current:
        return f", step '{current}'" + (f" ({done} done)" if done else "")
    return f", {done} step{'s' if done != 1 else ''} done" if done else ""
