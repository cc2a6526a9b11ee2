"""The ``GET /mredis/v1/operation-progress?operationId=…`` page of the REST gateway: the steps
an operation has done and the one it runs, which the API's Operation has no field for.

It is this server's own addition beside the API (the ``mredis`` CLI and the console draw
their progress lines from it; an official SDK never asks for it), authenticated like every
call and allowed to whoever may Get the operation. Errors are the gateway's google.rpc.Status
answers: UNAUTHENTICATED, INVALID_ARGUMENT naming ``operationId``, NOT_FOUND,
PERMISSION_DENIED.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from managed_redis.api.auth import Authenticator
from managed_redis.api.rest import Page
from managed_redis.api.static_pages import page_headers
from managed_redis.errors import InvalidArgument
from managed_redis.services.context import Caller
from managed_redis.services.operations import OperationService

PROGRESS_PATH = "/mredis/v1/operation-progress"
_MAX_ID = 50


def progress_page(authenticator: Authenticator, service: OperationService, executor: ThreadPoolExecutor) -> Page:
    """The page answering ``GET PROGRESS_PATH?operationId=ID`` with ``OperationService.progress``
    as JSON."""

    def progress(authorization: str | None, operation_id: str, request_id: str) -> dict[str, Any]:
        principal = authenticator.authenticate(authorization)
        if not operation_id or len(operation_id) > _MAX_ID:
            raise InvalidArgument.field("operationId", f"an operation id of 1 to {_MAX_ID} characters is required")
        return service.progress(operation_id, Caller(principal, request_id))

    async def page(http_request: web.BaseRequest, request_id: str) -> web.StreamResponse:
        body = await asyncio.get_running_loop().run_in_executor(
            executor,
            progress,
            http_request.headers.get("Authorization"),
            http_request.query.get("operationId", ""),
            request_id,
        )
        return web.json_response(body, headers=page_headers(request_id))

    return page
