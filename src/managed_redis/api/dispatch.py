"""The one path every call takes, whichever transport brought it.

authenticate (unless the service is public; the transports do it first, with
``authenticate``, before they read a request) -> validate against the descriptor ->
UNIMPLEMENTED if the method is not built -> a call repeated under an Idempotency-Key is
answered with the operation it made (``replay``), whichever replica made it, even one that
raced it and made the service's checks fail -> run the service method in the thread pool.
Service methods are plain blocking functions ``(request, caller) -> response``; a
server-streaming one returns an iterator, or an async iterator when its items wait on events
(StreamLogs: no thread is held while it waits). Any exception that is not an ``ApiError``
becomes INTERNAL with a request id; its trace goes to the server log only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from google.protobuf.message import Message
from yandex.cloud.operation import operation_pb2

from managed_redis.api.auth import Authenticator
from managed_redis.api.methods import Method
from managed_redis.api.validation import validate
from managed_redis.errors import ApiError, Internal, Unimplemented
from managed_redis.services.access import Principal
from managed_redis.services.context import Caller, call_fingerprint

log = logging.getLogger(__name__)
T = TypeVar("T")

_DONE = object()


# The operation a caller already made under a call's Idempotency-Key, or None.
Replay = Callable[[Caller], operation_pb2.Operation | None]


class Dispatcher:
    def __init__(
        self, authenticator: Authenticator, executor: ThreadPoolExecutor, replay: Replay | None = None
    ) -> None:
        self.authenticator = authenticator
        self.executor = executor
        self.replay = replay

    def _principal(self, method: Method, headers: Mapping[str, str]) -> Principal | None:
        return None if method.public else self.authenticator.authenticate(headers.get("authorization"))

    async def authenticate(self, method: Method, headers: Mapping[str, str], request_id: str) -> Principal | None:
        """The caller of ``method`` (None for a public one); raises ApiError (Unauthenticated)."""
        try:
            return await self._in_pool(self._principal, method, headers)
        except ApiError:
            raise
        except Exception as exc:
            raise self._internal(method, request_id) from exc

    def _prepare(
        self, method: Method, request: Message, headers: Mapping[str, str], request_id: str, known: Principal | None
    ) -> Caller:
        principal = known or self._principal(method, headers)
        validate(request)
        if method.implementation is None:
            raise Unimplemented(f"{method.name} is not implemented by this server yet")
        key = headers.get("idempotency-key") or None
        return Caller(principal, request_id, key, call_fingerprint(method.grpc_path, request) if key else None)

    def _invoke(
        self, method: Method, request: Message, headers: Mapping[str, str], request_id: str, known: Principal | None
    ) -> Any:
        caller = self._prepare(method, request, headers, request_id, known)
        assert method.implementation is not None
        made = self._replayed(method, caller)
        if made is not None:
            return made
        try:
            return method.implementation(request, caller)
        except ApiError:
            # A call under the same key, to this replica or another, may have won a race with
            # this one: its operation then holds the cluster (or took the new cluster's name),
            # and this call's checks failed on that. Its operation is the answer.
            made = self._replayed(method, caller)
            if made is not None:
                return made
            raise

    def _replayed(self, method: Method, caller: Caller) -> operation_pb2.Operation | None:
        """The operation a call repeated under its Idempotency-Key made; None if none (yet)."""
        if self.replay is None or not caller.idempotency_key or method.response_type is not operation_pb2.Operation:
            return None
        return self.replay(caller)

    async def _in_pool(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def call(
        self,
        method: Method,
        request: Message,
        headers: Mapping[str, str],
        request_id: str,
        principal: Principal | None = None,
    ) -> Message:
        """Run a unary method for ``principal`` (from ``authenticate``; None: authenticate now).

        Raises ApiError, never anything else.
        """
        result: Message = await self._run(method, request, headers, request_id, principal)
        return result

    async def _run(
        self, method: Method, request: Message, headers: Mapping[str, str], request_id: str, known: Principal | None
    ) -> Any:
        """``_invoke`` in the pool; raises ApiError, never anything else."""
        try:
            return await self._in_pool(self._invoke, method, request, headers, request_id, known)
        except ApiError:
            raise
        except Exception as exc:
            raise self._internal(method, request_id) from exc

    async def open_stream(
        self,
        method: Method,
        request: Message,
        headers: Mapping[str, str],
        request_id: str,
        principal: Principal | None = None,
    ) -> AsyncGenerator[Message, None]:
        """Start a server-streaming method: its checks run now (raising ApiError, never
        anything else), its items come from the iterator returned. A method returning an async
        iterator is driven on the event loop; a plain iterator is pulled item by item in the
        pool."""
        items = await self._run(method, request, headers, request_id, principal)
        return self._items(method, items, request_id)

    async def _items(
        self, method: Method, items: Iterator[Message] | AsyncIterator[Message], request_id: str
    ) -> AsyncGenerator[Message, None]:
        try:
            if isinstance(items, AsyncIterator):
                async for item in items:
                    yield item
                return
            while True:
                item = await self._in_pool(next, items, _DONE)
                if item is _DONE:
                    return
                yield item
        except ApiError:
            raise
        except Exception as exc:
            raise self._internal(method, request_id) from exc
        finally:
            if isinstance(items, AsyncGenerator):
                await items.aclose()

    async def stream(
        self,
        method: Method,
        request: Message,
        headers: Mapping[str, str],
        request_id: str,
        principal: Principal | None = None,
    ) -> AsyncGenerator[Message, None]:
        """``open_stream``, then its items: raises ApiError, never anything else."""
        items = await self.open_stream(method, request, headers, request_id, principal)
        try:
            async for item in items:
                yield item
        finally:
            await items.aclose()

    @staticmethod
    def _internal(method: Method, request_id: str) -> Internal:
        log.exception("%s failed unexpectedly (request id %s)", method.name, request_id)
        return Internal.logged_under(f"request id {request_id}")
