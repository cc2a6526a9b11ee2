"""The dispatcher turns every unexpected failure into INTERNAL with a request id, no trace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from google.protobuf.message import Message
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1 import resource_preset_service_pb2 as rps

from managed_redis.api.auth import Authenticator
from managed_redis.api.dispatch import Dispatcher
from managed_redis.api.methods import Implementation, Method, build_method_table
from managed_redis.errors import Internal, Unauthenticated, Unimplemented
from managed_redis.services.access import Principal


def method(name: str, implementation: Implementation | None) -> Method:
    table = build_method_table({})
    found = next(m for m in table if m.name == name)
    return replace(found, implementation=implementation)


def call(dispatcher: Dispatcher, m: Method, request: Message, headers: dict[str, str]) -> Message:
    return asyncio.run(dispatcher.call(m, request, headers, "req-42"))


@pytest.fixture
def dispatcher(tmp_path: Path) -> Dispatcher:
    return Dispatcher(Authenticator("admin-token", tmp_path / "tokens.json"), ThreadPoolExecutor(2))


def test_unexpected_exception_is_internal_with_request_id(
    dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: Message, caller: Principal | None) -> Message:
        raise RuntimeError("secret detail /etc/passwd")

    m = method("ResourcePresetService.List", broken)
    with pytest.raises(Internal) as caught:
        call(dispatcher, m, rps.ListResourcePresetsRequest(), {"authorization": "Bearer admin-token"})
    assert "req-42" in caught.value.message and "secret detail" not in caught.value.message
    assert "secret detail" in caplog.text  # the trace went to the log


def test_authentication_comes_before_everything(dispatcher: Dispatcher) -> None:
    m = method("ResourcePresetService.List", None)
    with pytest.raises(Unauthenticated):
        call(dispatcher, m, rps.ListResourcePresetsRequest(), {})
    with pytest.raises(Unimplemented, match="ResourcePresetService.List is not implemented"):
        call(dispatcher, m, rps.ListResourcePresetsRequest(), {"authorization": "Bearer admin-token"})


def test_a_stream_of_an_async_iterator_runs_on_the_loop_and_is_closed_when_the_caller_stops(
    dispatcher: Dispatcher,
) -> None:
    closed: list[bool] = []

    def follow(request: Message, caller: Principal | None) -> AsyncIterator[cs.StreamLogRecord]:
        async def items() -> AsyncIterator[cs.StreamLogRecord]:
            try:
                for n in range(1000):
                    yield cs.StreamLogRecord(next_record_token=str(n))
                raise RuntimeError("never reached: the caller stops first")
            finally:
                closed.append(True)

        return items()

    m = method("ClusterService.StreamLogs", follow)
    request = cs.StreamClusterLogsRequest(cluster_id="c9q")

    async def take_two() -> list[str]:
        stream = dispatcher.stream(m, request, {"authorization": "Bearer admin-token"}, "req-42")
        taken = []
        for _ in range(2):
            item = await anext(stream)
            assert isinstance(item, cs.StreamLogRecord)
            taken.append(item.next_record_token)
        await stream.aclose()
        return taken

    assert asyncio.run(take_two()) == ["0", "1"]
    assert closed == [True]


def test_a_failure_inside_an_async_stream_is_internal(dispatcher: Dispatcher) -> None:
    def broken(request: Message, caller: Principal | None) -> AsyncIterator[cs.StreamLogRecord]:
        async def items() -> AsyncIterator[cs.StreamLogRecord]:
            yield cs.StreamLogRecord()
            raise RuntimeError("secret detail")

        return items()

    m = method("ClusterService.StreamLogs", broken)

    async def drain() -> None:
        async for _ in dispatcher.stream(
            m, cs.StreamClusterLogsRequest(cluster_id="c9q"), {"authorization": "Bearer admin-token"}, "req-42"
        ):
            pass

    with pytest.raises(Internal) as caught:
        asyncio.run(drain())
    assert "req-42" in caught.value.message and "secret" not in caught.value.message
