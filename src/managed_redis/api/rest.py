"""The REST transport: one generic aiohttp handler for every route of every method.

The route comes from the method's ``google.api.http`` rule (see ``transcoding.py``); the
caller is authenticated before the body is read; the call goes through the same
dispatcher as gRPC. A server-streaming method answers one JSON array, written element by
element as items come (chunked), as the cloud's gRPC-JSON transcoder does (api.md §10.2).

Every answer that is not a success is a google.rpc.Status JSON with the HTTP status of
api.md §1.3 (405 with ``Allow`` for a verb the path does not take), including what
aiohttp refuses on its own (a request it cannot parse) and any failure of this module:
no plain-text page, no echo of the request line, no trace. The ``Server`` header names
the service, not the Python or aiohttp version.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from google.protobuf import json_format
from google.protobuf.message import Message

from managed_redis.api.dispatch import Dispatcher
from managed_redis.api.json_rendering import JsonRenderer
from managed_redis.api.methods import Method
from managed_redis.api.status import http_status, to_status
from managed_redis.api.transcoding import MethodNotAllowed, Router, build_request
from managed_redis.errors import ApiError, Internal, InvalidArgument, Unimplemented
from managed_redis.services.access import Principal

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
SERVER_NAME = "managed-redis"
MAX_BODY_BYTES = 4 * 1024 * 1024
_READ_CHUNK = 64 * 1024


def _headers(request_id: str) -> dict[str, str]:
    return {REQUEST_ID_HEADER: request_id, "Server": SERVER_NAME}


def _error_response(error: ApiError, request_id: str) -> web.Response:
    body = json.dumps(json_format.MessageToDict(to_status(error, request_id)), indent=2) + "\n"
    headers = _headers(request_id)
    status = http_status(error.code)
    if isinstance(error, MethodNotAllowed):
        status = 405
        headers["Allow"] = ", ".join(error.allowed)
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def _internal(request_id: str) -> Internal:
    return Internal.logged_under(f"request id {request_id}")


async def _read_body(http_request: web.BaseRequest) -> bytes:
    """The request body, refused past MAX_BODY_BYTES (announced or sent)."""
    too_large = InvalidArgument(f"request body is larger than {MAX_BODY_BYTES} bytes")
    if (http_request.content_length or 0) > MAX_BODY_BYTES:
        raise too_large
    if not http_request.body_exists:
        return b""
    chunks, size = [], 0
    try:
        async for chunk in http_request.content.iter_chunked(_READ_CHUNK):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise too_large
            chunks.append(chunk)
    except (HttpProcessingError, web.RequestPayloadError) as exc:  # a chunked or compressed body that lies
        cause = exc.__cause__ if isinstance(exc, web.RequestPayloadError) else exc
        raise InvalidArgument(f"the request body could not be read ({_problem(cause)})") from None
    return b"".join(chunks)


class _StatusRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering what it refuses itself as google.rpc.Status."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("the response has begun; no error answer can follow")
        request_id = str(uuid.uuid4())
        error: ApiError
        if status == 501:
            error = Unimplemented("this HTTP feature is not supported")
        elif status >= 500:
            log.error("REST request failed unexpectedly (request id %s)", request_id, exc_info=exc)
            error = _internal(request_id)
        else:
            # Never the parser's own words: they quote the request line back.
            log.debug("unreadable HTTP request (request id %s): %s", request_id, exc)
            error = InvalidArgument(f"the HTTP request could not be read ({_problem(exc)})")
        response = _error_response(error, request_id)
        response.force_close()
        return response


def _problem(exc: BaseException | None) -> str:
    words = {
        "BadHttpMethod": "bad method",
        "BadStatusLine": "bad request line",
        "LineTooLong": "a line is too long",
        "InvalidHeader": "bad header",
        "InvalidURLError": "bad URL",
        "ContentLengthError": "body shorter than its Content-Length",
        "TransferEncodingError": "bad chunked encoding",
        "ContentEncodingError": "bad content encoding",
    }
    return words.get(type(exc).__name__, "malformed request")


class _StatusServer(web.Server):
    """aiohttp's low-level server with the handler above for each connection."""

    def __call__(self) -> RequestHandler:
        # web.Server.__call__ builds a RequestHandler from these same two attributes.
        return _StatusRequestHandler(self, loop=self._loop, **self._kwargs)


# On shutdown, requests still open this long after the listener closed are cut: a log stream
# (StreamLogs follows files until its client leaves) would otherwise hold SIGTERM for a minute.
STREAMS_CUT_AFTER_S = 2.0


# A page beside the API's methods (``GET /openapi.json``, ``/metrics``): it answers the
# request itself, given the request id; an ApiError it raises is answered as a Status.
Page = Callable[[web.BaseRequest, str], Awaitable[web.StreamResponse]]


class RestGateway:
    """Routes each request to its method, or to one of ``pages`` (``GET`` of an exact path)."""

    def __init__(self, dispatcher: Dispatcher, methods: Sequence[Method], pages: Mapping[str, Page] = {}) -> None:
        self.dispatcher = dispatcher
        self.router = Router(methods)
        self.renderer = JsonRenderer()
        self.pages = dict(pages)

    async def handle(self, http_request: web.BaseRequest) -> web.StreamResponse:
        """Answer one HTTP request; every failure is a google.rpc.Status answer."""
        request_id = str(uuid.uuid4())
        try:
            return await self._handle(http_request, request_id)
        except ApiError as error:
            return _error_response(error, request_id)
        except Exception:
            log.exception("REST request failed unexpectedly (request id %s)", request_id)
            return _error_response(_internal(request_id), request_id)

    async def _handle(self, http_request: web.BaseRequest, request_id: str) -> web.StreamResponse:
        page = self.pages.get(http_request.rel_url.path) if http_request.method in ("GET", "HEAD") else None
        if page is not None:
            return await page(http_request, request_id)
        headers = {key.lower(): value for key, value in http_request.headers.items()}
        route, params = self.router.match(http_request.method, http_request.rel_url.raw_path)
        principal = await self.dispatcher.authenticate(route.method, headers, request_id)
        body = await _read_body(http_request)
        request = build_request(route, params, http_request.query.items(), body)
        if route.method.server_streaming:
            return await self._stream(http_request, route.method, request, headers, request_id, principal)
        response = await self.dispatcher.call(route.method, request, headers, request_id, principal)
        return web.Response(
            text=self.renderer.render(response), content_type="application/json", headers=_headers(request_id)
        )

    async def _stream(
        self,
        http_request: web.BaseRequest,
        method: Method,
        request: Message,
        headers: dict[str, str],
        request_id: str,
        principal: Principal | None,
    ) -> web.StreamResponse:
        try:
            items = await self.dispatcher.open_stream(method, request, headers, request_id, principal)
        except ApiError as error:
            return _error_response(error, request_id)
        response = web.StreamResponse(headers=_headers(request_id))
        response.content_type = "application/json"
        try:
            await response.prepare(http_request)
            await self._write_items(http_request, response, items, request_id)
            await response.write_eof()
        except ConnectionError:
            log.debug("REST stream %s: the client went away", request_id)
        finally:
            await items.aclose()
        return response

    @staticmethod
    async def _write_items(
        http_request: web.BaseRequest,
        response: web.StreamResponse,
        items: AsyncIterator[Message],
        request_id: str,
    ) -> None:
        """One JSON array written element by element, as the cloud's gRPC-JSON transcoder does
        (api.md §10.2), one element a line: ``[`` before the first, ``,`` before each next one,
        ``]`` on a line of its own at the end; a failure midway is a last element
        ``{"error": Status}``. Stops when
        the client has gone, which is looked at every ``_CLIENT_CHECK_S`` while no item comes."""
        separator = b"["
        try:
            while (item := await _next_unless_gone(http_request, items)) is not None:
                await response.write(separator + json.dumps(json_format.MessageToDict(item)).encode() + b"\n")
                separator = b","
        except ApiError as error:
            status = json_format.MessageToDict(to_status(error, request_id))
            await response.write(separator + json.dumps({"error": status}).encode() + b"\n")
            separator = b","
        await response.write(b"[]\n" if separator == b"[" else b"]\n")


_CLIENT_CHECK_S = 1.0


async def _next_unless_gone(http_request: web.BaseRequest, items: AsyncIterator[Message]) -> Message | None:
    """The next item, or None at the end; ConnectionError once the client's connection closes."""
    waiting = asyncio.ensure_future(anext(items, None))
    try:
        while True:
            done, _ = await asyncio.wait({waiting}, timeout=_CLIENT_CHECK_S)
            if done:
                return waiting.result()
            transport = http_request.transport
            if transport is None or transport.is_closing():
                raise ConnectionError("the client closed the connection")
    finally:
        if not waiting.done():
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await waiting


async def start_rest_server(gateway: RestGateway, address: str) -> tuple[web.BaseRunner, int]:
    """Serve ``gateway`` on ``address`` (``host:port``, port 0 for any); the runner and the port bound."""
    host, _, port = address.rpartition(":")
    runner = web.ServerRunner(
        _StatusServer(gateway.handle, access_log=None), handle_signals=False, shutdown_timeout=STREAMS_CUT_AFTER_S
    )
    await runner.setup()
    site = web.TCPSite(runner, host.strip("[]") or None, int(port), reuse_address=True)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or ()
    bound = sockets[0].getsockname()[1] if sockets else int(port)
    return runner, bound
