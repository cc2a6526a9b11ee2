"""The REST transport: one generic aiohttp handler for every route of every method.

The route comes from the method's ``google.api.http`` rule (see ``transcoding.py``); the
call goes through the same dispatcher as gRPC. Errors are google.rpc.Status JSON with the
HTTP status of api.md §1.3. A server-streaming method answers newline-delimited JSON,
one message per line.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence

from aiohttp import web
from google.protobuf import json_format

from managed_redis.api.dispatch import Dispatcher
from managed_redis.api.json_rendering import JsonRenderer
from managed_redis.api.methods import Method
from managed_redis.api.status import http_status, to_status
from managed_redis.api.transcoding import Router, build_request
from managed_redis.errors import ApiError, InvalidArgument

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
MAX_BODY_BYTES = 4 * 1024 * 1024


def _error_response(error: ApiError, request_id: str) -> web.Response:
    body = json.dumps(json_format.MessageToDict(to_status(error, request_id)), indent=2) + "\n"
    return web.Response(
        status=http_status(error.code),
        text=body,
        content_type="application/json",
        headers={REQUEST_ID_HEADER: request_id},
    )


class RestGateway:
    def __init__(self, dispatcher: Dispatcher, methods: Sequence[Method]) -> None:
        self.dispatcher = dispatcher
        self.router = Router(methods)
        self.renderer = JsonRenderer()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, http_request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        headers = {key.lower(): value for key, value in http_request.headers.items()}
        try:
            route, params = self.router.match(http_request.method, http_request.rel_url.raw_path)
            body = await http_request.read() if http_request.can_read_body else b""
            request = build_request(route, params, http_request.query.items(), body)
            if route.method.server_streaming:
                return await self._stream(http_request, route.method, request, headers, request_id)
            response = await self.dispatcher.call(route.method, request, headers, request_id)
        except ApiError as error:
            return _error_response(error, request_id)
        except web.HTTPRequestEntityTooLarge:
            return _error_response(InvalidArgument(f"request body is larger than {MAX_BODY_BYTES} bytes"), request_id)
        return web.Response(
            text=self.renderer.render(response),
            content_type="application/json",
            headers={REQUEST_ID_HEADER: request_id},
        )

    async def _stream(
        self,
        http_request: web.Request,
        method: Method,
        request: object,
        headers: dict[str, str],
        request_id: str,
    ) -> web.StreamResponse:
        items = self.dispatcher.stream(method, request, headers, request_id)  # type: ignore[arg-type]
        try:
            first = await anext(items, None)
        except ApiError as error:
            return _error_response(error, request_id)
        response = web.StreamResponse(headers={REQUEST_ID_HEADER: request_id})
        response.content_type = "application/x-ndjson"
        await response.prepare(http_request)
        try:
            item = first
            while item is not None:
                await response.write(json.dumps(json_format.MessageToDict(item)).encode() + b"\n")
                item = await anext(items, None)
        except ApiError as error:
            status = json_format.MessageToDict(to_status(error, request_id))
            await response.write(json.dumps({"error": status}).encode() + b"\n")
        await response.write_eof()
        return response


async def start_rest_server(gateway: RestGateway, address: str) -> tuple[web.AppRunner, int]:
    host, _, port = address.rpartition(":")
    runner = web.AppRunner(gateway.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host.strip("[]") or None, int(port), reuse_address=True)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or ()
    bound = sockets[0].getsockname()[1] if sockets else int(port)
    return runner, bound
