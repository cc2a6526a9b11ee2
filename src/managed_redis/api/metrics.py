"""The ``GET /metrics`` page of the REST gateway: Prometheus' text format, behind a token.

The caller is authenticated as on every call (``Authorization: Bearer <token>``; in
Prometheus, a scrape job's ``authorization`` setting): a missing or unknown token is
UNAUTHENTICATED, answered as a google.rpc.Status by the gateway. What the caller may see
is ``services/metrics.py``'s business; both steps run in one job of the API's thread pool
(a hand-over between the event loop and a pool thread costs a wait for the GIL, long when
the supervisor is busy beside them). The answer
is always Prometheus' text format 0.0.4, whatever the ``Accept`` header prefers (every
Prometheus reads it), the page the service keeps sent as it is, in one write.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from managed_redis.api.auth import Authenticator
from managed_redis.api.rest import REQUEST_ID_HEADER, SERVER_NAME, Page
from managed_redis.services.metrics import CONTENT_TYPE, MetricsService

METRICS_PATH = "/metrics"


def metrics_page(authenticator: Authenticator, service: MetricsService, executor: ThreadPoolExecutor) -> Page:
    """The page answering ``GET /metrics``: raises ApiError (Unauthenticated) for a caller
    without a valid token; otherwise the families the caller may see."""

    def exposition(authorization: str | None) -> bytes:
        return service.exposition(authenticator.authenticate(authorization))

    async def page(http_request: web.BaseRequest, request_id: str) -> web.StreamResponse:
        authorization = http_request.headers.get("Authorization")
        body = await asyncio.get_running_loop().run_in_executor(executor, exposition, authorization)
        headers = {REQUEST_ID_HEADER: request_id, "Server": SERVER_NAME, "Content-Type": CONTENT_TYPE}
        # One write: the headers and the page handed to the socket at once (one send when the
        # socket's buffer takes it, as on loopback), not a wait on the event loop per part.
        return web.Response(body=body, headers=headers)

    return page
