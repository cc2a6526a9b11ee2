"""The rule for commands a node refuses ``NOREPLICAS`` while its replicas lag: sent again,
in order, until accepted or the patience runs out; any other error raised at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import redis

from managed_redis.engine.lagging_replicas import patiently, refused_for_replicas

NOREPLICAS = "NOREPLICAS Not enough good replicas to write."


class FakeNode:
    """Answers each command from a script: command -> the replies of its successive sends
    (the last one repeated); a str is an error reply, anything else a reply as is."""

    def __init__(self, script: dict[tuple[object, ...], list[object]]) -> None:
        self.script = {command: list(replies) for command, replies in script.items()}
        self.sent: list[list[tuple[object, ...]]] = []

    def pipeline(self, transaction: bool = False) -> FakePipeline:
        assert not transaction
        return FakePipeline(self)


class FakePipeline:
    def __init__(self, node: FakeNode) -> None:
        self.node = node
        self.commands: list[tuple[object, ...]] = []

    def execute_command(self, *command: object) -> None:
        self.commands.append(command)

    def execute(self, raise_on_error: bool = True) -> list[object]:
        assert not raise_on_error
        self.node.sent.append(self.commands)
        replies = []
        for command in self.commands:
            script = self.node.script[command]
            reply = script.pop(0) if len(script) > 1 else script[0]
            replies.append(redis.ResponseError(reply) if isinstance(reply, str) else reply)
        return replies


def setslot(slot: int, state: str = "IMPORTING") -> tuple[object, ...]:
    return ("CLUSTER", "SETSLOT", slot, state, "abc")


def run(node: FakeNode, commands: Sequence[tuple[object, ...]], patience_s: float = 60.0) -> list[object]:
    client: Any = node
    return patiently(client, commands, patience_s=patience_s, pause_s=0)


def test_a_refused_command_and_those_after_it_are_sent_again_in_order() -> None:
    node = FakeNode({setslot(1): [b"OK"], setslot(2): [NOREPLICAS, NOREPLICAS, b"OK"], setslot(3): [b"OK"]})

    replies = run(node, [setslot(1), setslot(2), setslot(3)])

    assert replies == [b"OK", b"OK", b"OK"]
    assert node.sent == [[setslot(1), setslot(2), setslot(3)], [setslot(2), setslot(3)], [setslot(2), setslot(3)]]


def test_nothing_is_sent_twice_when_nothing_is_refused() -> None:
    node = FakeNode({setslot(1): [b"OK"], setslot(2): [b"OK"]})

    assert run(node, [setslot(1), setslot(2)]) == [b"OK", b"OK"]
    assert len(node.sent) == 1


@pytest.mark.parametrize(
    "message",
    ["ERR I'm not the owner of hash slot 2", "ERR Please use SETSLOT only with masters."],
)
def test_any_other_error_is_raised_at_once(message: str) -> None:
    node = FakeNode({setslot(1): [NOREPLICAS, b"OK"], setslot(2): [message]})

    with pytest.raises(redis.ResponseError, match=message.split()[1]):
        run(node, [setslot(1), setslot(2)])
    assert len(node.sent) == 1


def test_a_refusal_that_outlasts_the_patience_is_raised() -> None:
    node = FakeNode({setslot(1): [NOREPLICAS]})

    with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
        run(node, [setslot(1)], patience_s=0)
    assert len(node.sent) == 1


@pytest.mark.parametrize(
    ("reply", "refused"),
    [
        (redis.ResponseError(NOREPLICAS), True),
        (redis.ResponseError(f"ERR Target instance replied with error: {NOREPLICAS}"), True),
        (redis.ResponseError("NOAUTH Authentication required."), False),
        (redis.ResponseError("ERR Syntax error"), False),
        (b"OK", False),
        (None, False),
    ],
)
def test_what_counts_as_refused_for_lagging_replicas(reply: object, refused: bool) -> None:
    assert refused_for_replicas(reply) is refused
