"""Test-only operation kinds, ``test.steps``: numbered steps that sleep and keep a journal.

Its request is a ``google.protobuf.Struct``: ``steps`` (how many), ``sleep_s`` (per step),
``journal`` (a file each step appends ``start <n> attempt <a>`` / ``end <n>`` to) and,
optionally, ``fail_at`` (a step that raises FailedPrecondition). Each step passes the
failpoint ``test.steps.<n>`` after its start line. ``test.steps`` may be claimed 3 times
within 120 s; ``test.steps.short`` (the same steps) has a deadline of ``SHORT_DEADLINE_S``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from google.protobuf import struct_pb2

from managed_redis import failpoints
from managed_redis.errors import FailedPrecondition
from managed_redis.operations.context import OperationContext
from managed_redis.operations.kinds import OperationKind
from managed_redis.operations.limits import Limits
from managed_redis.operations.worker import AnyKind

KIND = "test.steps"
SHORT_KIND = "test.steps.short"
MAX_ATTEMPTS = 3
SHORT_DEADLINE_S = 5.0


def _journal(path: str, line: str) -> None:
    with open(path, "a") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _number(request: struct_pb2.Struct, key: str) -> float:
    """A number field of the request (a Struct holds every number as a float)."""
    value = request[key]
    assert isinstance(value, float), f"{key} is {value!r}, not a number"
    return value


def _text(request: struct_pb2.Struct, key: str) -> str:
    value = request[key]
    assert isinstance(value, str), f"{key} is {value!r}, not a string"
    return value


def run_steps(ctx: OperationContext[struct_pb2.Struct]) -> struct_pb2.Struct:
    request = ctx.request
    steps = int(_number(request, "steps"))
    journal = _text(request, "journal")
    fail_at = int(_number(request, "fail_at")) if "fail_at" in request else -1

    for number in range(steps):

        def step(number: int = number) -> int:
            _journal(journal, f"start {number} attempt {ctx.record.attempts}")
            failpoints.reached(f"test.steps.{number}")
            if number == fail_at:
                raise FailedPrecondition(f"step {number} was told to fail")
            time.sleep(_number(request, "sleep_s"))
            _journal(journal, f"end {number}")
            return number * 10

        ctx.once(f"step {number}", step)
    result = struct_pb2.Struct()
    result.update(
        {
            "attempts": ctx.record.attempts,
            "results": [ctx.progress["steps"][f"step {n}"] for n in range(steps)],
        }
    )
    return result


def _kind(name: str, deadline_s: float) -> OperationKind[struct_pb2.Struct, struct_pb2.Struct, struct_pb2.Struct]:
    return OperationKind(
        name,
        "test steps",
        struct_pb2.Struct,
        struct_pb2.Struct,
        struct_pb2.Struct,
        run_steps,
        limits=Limits(MAX_ATTEMPTS, deadline_s),
    )


def handlers() -> dict[str, AnyKind]:
    return {KIND: _kind(KIND, 120.0), SHORT_KIND: _kind(SHORT_KIND, SHORT_DEADLINE_S)}


def steps_request(steps: int, sleep_s: float, journal: str, **extra: Any) -> struct_pb2.Struct:
    request = struct_pb2.Struct()
    request.update({"steps": steps, "sleep_s": sleep_s, "journal": journal, **extra})
    return request
