"""Files and fixed texts served as pages of the REST gateway (``rest.Page``), no token needed.

Shared by the API's docs (``docs_pages``: Swagger UI's files) and the web console
(``console_pages``: the package's ``console/`` folder). Every answer says its content type
(chosen here by file extension, not by the machine's mime table) and ``Cache-Control:
no-cache``: a browser keeps its copy but asks again each time (aiohttp answers 304 by the
file's ETag/Last-Modified), so an upgraded server is never hidden behind stale files.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from managed_redis.api.rest import REQUEST_ID_HEADER, SERVER_NAME, Page

_CONTENT_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def content_type(path: Path) -> str:
    """The media type of a served file, from its extension (``application/octet-stream`` if unknown)."""
    known = _CONTENT_TYPES.get(path.suffix.lower())
    return known or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def page_headers(request_id: str, extra: Mapping[str, str] = {}) -> dict[str, str]:
    """The headers of every static answer: request id, server name, no-cache, and ``extra``."""
    return {REQUEST_ID_HEADER: request_id, "Server": SERVER_NAME, "Cache-Control": "no-cache", **extra}


def text_page(text: str, content_type: str, extra_headers: Mapping[str, str] = {}) -> Page:
    """A page answering ``text`` (UTF-8) as ``content_type``."""
    body = text.encode()

    async def page(http_request: web.BaseRequest, request_id: str) -> web.StreamResponse:
        headers = page_headers(request_id, extra_headers)
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)

    return page


def file_page(file: Path, extra_headers: Mapping[str, str] = {}) -> Page:
    """A page answering the file's bytes as they are when asked (conditional GET supported)."""
    kind = content_type(file)
    if kind.startswith("text/") or kind in ("application/json", "image/svg+xml"):
        kind += "; charset=utf-8"

    async def page(http_request: web.BaseRequest, request_id: str) -> web.StreamResponse:
        headers = page_headers(request_id, {"Content-Type": kind, **extra_headers})
        return web.FileResponse(file, headers=headers)

    return page


def redirect_page(location: str) -> Page:
    """A page answering 308 Permanent Redirect to ``location`` (e.g. ``/console`` → ``/console/``)."""

    async def page(http_request: web.BaseRequest, request_id: str) -> web.StreamResponse:
        return web.Response(status=308, headers=page_headers(request_id, {"Location": location}))

    return page


def folder_pages(
    prefix: str, root: Path, skip: frozenset[str] = frozenset(), extra_headers: Mapping[str, str] = {}
) -> dict[str, Page]:
    """Every file under ``root`` (recursively; no dot files, no Python files or caches, none
    named in ``skip``) as a page at ``<prefix>/<its path under root>``, answered with
    ``extra_headers`` too."""
    pages: dict[str, Page] = {}
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root)
        if not file.is_file() or file.name in skip or _hidden(relative):
            continue
        pages[f"{prefix}/{relative.as_posix()}"] = file_page(file, extra_headers)
    return pages


def _hidden(relative: Path) -> bool:
    parts = relative.parts
    return any(part.startswith((".", "__")) for part in parts) or relative.suffix in (".py", ".pyc")
