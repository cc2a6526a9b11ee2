"""The gRPC transport: a ``grpc.aio`` server over TLS serving every method of the table.

One generic handler per service routes each RPC to the dispatcher. A handler takes the
request's bytes: it authenticates the caller first, then parses them with the official
message class, so bytes that are no such message are INVALID_ARGUMENT (grpc's own
deserializer would answer UNKNOWN). Failures become a gRPC status with the
google.rpc.Status in the ``grpc-status-details-bin`` trailer, as richer clients expect.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

from managed_redis.api.dispatch import Dispatcher
from managed_redis.api.methods import Method
from managed_redis.api.status import grpc_code, to_status
from managed_redis.errors import ApiError, InvalidArgument
from managed_redis.services.access import Principal

REQUEST_ID_KEY = "x-request-id"


def _headers(context: grpc.aio.ServicerContext) -> dict[str, str]:
    return {key.lower(): value for key, value in context.invocation_metadata() or () if isinstance(value, str)}


async def _abort(context: grpc.aio.ServicerContext, error: ApiError, request_id: str) -> None:
    status = to_status(error, request_id)
    await context.abort(
        grpc_code(error.code),
        status.message,  # cut to a size trailers carry, as in the details
        trailing_metadata=(
            ("grpc-status-details-bin", status.SerializeToString()),
            (REQUEST_ID_KEY, request_id),
        ),
    )


def _parse(method: Method, data: bytes) -> Message:
    try:
        return method.request_type.FromString(data)
    except DecodeError:
        raise InvalidArgument(f"the request is not a valid {method.request_type.DESCRIPTOR.full_name}") from None


async def _prepare(
    dispatcher: Dispatcher, method: Method, data: bytes, headers: dict[str, str], request_id: str
) -> tuple[Message, Principal | None]:
    """The caller, then the request: a caller without a token learns nothing of the parser."""
    principal = await dispatcher.authenticate(method, headers, request_id)
    return _parse(method, data), principal


def _unary(dispatcher: Dispatcher, method: Method) -> Callable[[bytes, Any], Awaitable[Message]]:
    async def handle(data: bytes, context: grpc.aio.ServicerContext) -> Message:
        request_id = str(uuid.uuid4())
        context.set_trailing_metadata(((REQUEST_ID_KEY, request_id),))
        headers = _headers(context)
        try:
            request, principal = await _prepare(dispatcher, method, data, headers, request_id)
            return await dispatcher.call(method, request, headers, request_id, principal)
        except ApiError as error:
            await _abort(context, error, request_id)
            raise  # abort() raises; this line is never reached

    return handle


def _streaming(dispatcher: Dispatcher, method: Method) -> Callable[[bytes, Any], AsyncIterator[Message]]:
    async def handle(data: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Message]:
        request_id = str(uuid.uuid4())
        headers = _headers(context)
        try:
            request, principal = await _prepare(dispatcher, method, data, headers, request_id)
            async for item in dispatcher.stream(method, request, headers, request_id, principal):
                yield item
        except ApiError as error:
            await _abort(context, error, request_id)

    return handle


def generic_handlers(dispatcher: Dispatcher, methods: Sequence[Method]) -> list[grpc.GenericRpcHandler]:
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = defaultdict(dict)
    for method in methods:
        if method.server_streaming:
            # No request_deserializer: the handler gets the bytes and parses them itself.
            handler = grpc.unary_stream_rpc_method_handler(
                _streaming(dispatcher, method), response_serializer=method.response_type.SerializeToString
            )
        else:
            handler = grpc.unary_unary_rpc_method_handler(
                _unary(dispatcher, method), response_serializer=method.response_type.SerializeToString
            )
        by_service[method.service.full_name][method.descriptor.name] = handler
    return [grpc.method_handlers_generic_handler(name, handlers) for name, handlers in by_service.items()]


async def start_grpc_server(
    dispatcher: Dispatcher, methods: Sequence[Method], address: str, cert_pem: bytes, key_pem: bytes
) -> tuple[grpc.aio.Server, int]:
    """Start serving on ``address`` over TLS; returns the server and the port it bound."""
    server = grpc.aio.server(options=(("grpc.so_reuseport", 0),))
    server.add_generic_rpc_handlers(generic_handlers(dispatcher, methods))
    credentials = grpc.ssl_server_credentials([(key_pem, cert_pem)])
    port = server.add_secure_port(address, credentials)
    if port == 0:
        raise OSError(f"cannot listen for gRPC on {address}")
    await server.start()
    return server, port
