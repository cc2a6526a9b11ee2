"""The one path every call takes, whichever transport brought it.

authenticate (unless the service is public) -> validate against the descriptor ->
UNIMPLEMENTED if the method is not built -> run the service method in the thread pool.
Service methods are plain blocking functions ``(request, caller) -> response``; a
server-streaming one returns an iterator. Any exception that is not an ``ApiError``
becomes INTERNAL with a request id; its trace goes to the server log only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from google.protobuf.message import Message

from managed_redis.api.auth import Authenticator
from managed_redis.api.methods import Method
from managed_redis.api.validation import validate
from managed_redis.errors import ApiError, Internal, Unimplemented
from managed_redis.services.context import Caller

log = logging.getLogger(__name__)
T = TypeVar("T")

_DONE = object()


class Dispatcher:
    def __init__(self, authenticator: Authenticator, executor: ThreadPoolExecutor) -> None:
        self.authenticator = authenticator
        self.executor = executor

    def _prepare(self, method: Method, request: Message, headers: Mapping[str, str], request_id: str) -> Caller:
        principal = None if method.public else self.authenticator.authenticate(headers.get("authorization"))
        validate(request)
        if method.implementation is None:
            raise Unimplemented(f"{method.name} is not implemented by this server yet")
        return Caller(principal, request_id, headers.get("idempotency-key") or None)

    def _invoke(self, method: Method, request: Message, headers: Mapping[str, str], request_id: str) -> Any:
        caller = self._prepare(method, request, headers, request_id)
        assert method.implementation is not None
        return method.implementation(request, caller)

    async def _in_pool(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def call(self, method: Method, request: Message, headers: Mapping[str, str], request_id: str) -> Message:
        """Run a unary method; raises ApiError (never anything else)."""
        try:
            result: Message = await self._in_pool(self._invoke, method, request, headers, request_id)
            return result
        except ApiError:
            raise
        except Exception as exc:
            raise self._internal(method, request_id) from exc

    async def stream(
        self, method: Method, request: Message, headers: Mapping[str, str], request_id: str
    ) -> AsyncIterator[Message]:
        """Run a server-streaming method, pulling each item from its iterator in the pool."""
        try:
            items: Iterator[Message] = await self._in_pool(self._invoke, method, request, headers, request_id)
            while True:
                item = await self._in_pool(next, items, _DONE)
                if item is _DONE:
                    return
                yield item
        except ApiError:
            raise
        except Exception as exc:
            raise self._internal(method, request_id) from exc

    @staticmethod
    def _internal(method: Method, request_id: str) -> Internal:
        log.exception("%s failed unexpectedly (request id %s)", method.name, request_id)
        return Internal(f"internal error; the server log has the details under request id {request_id}")
