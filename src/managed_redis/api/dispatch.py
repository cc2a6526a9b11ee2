"""The one path every call takes, whichever transport brought it.

authenticate (unless the service is public; the transports do it first, with
``authenticate``, before they read a request) -> validate against the descriptor ->
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
from managed_redis.services.access import Principal
from managed_redis.services.context import Caller

log = logging.getLogger(__name__)
T = TypeVar("T")

_DONE = object()


class Dispatcher:
    def __init__(self, authenticator: Authenticator, executor: ThreadPoolExecutor) -> None:
        self.authenticator = authenticator
        self.executor = executor

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
        return Caller(principal, request_id, headers.get("idempotency-key") or None)

    def _invoke(
        self, method: Method, request: Message, headers: Mapping[str, str], request_id: str, known: Principal | None
    ) -> Any:
        caller = self._prepare(method, request, headers, request_id, known)
        assert method.implementation is not None
        return method.implementation(request, caller)

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
        try:
            result: Message = await self._in_pool(self._invoke, method, request, headers, request_id, principal)
            return result
        except ApiError:
            raise
        except Exception as exc:
            raise self._internal(method, request_id) from exc

    async def stream(
        self,
        method: Method,
        request: Message,
        headers: Mapping[str, str],
        request_id: str,
        principal: Principal | None = None,
    ) -> AsyncIterator[Message]:
        """Run a server-streaming method, pulling each item from its iterator in the pool."""
        try:
            items: Iterator[Message] = await self._in_pool(
                self._invoke, method, request, headers, request_id, principal
            )
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
        return Internal.logged_under(f"request id {request_id}")
