"""The web console (``managed_redis/console/``: HTML, CSS and ES modules, no build step) as
pages of the REST gateway under ``/console/``, no token needed to load them: the console asks
its user for a token and sends it with each API call, as any other REST client does.

``/console`` redirects to ``/console/``; ``/console/`` and ``/console/index.html`` are the
page; every other file of the folder is served at ``/console/<its path>`` (files added while
the server runs appear at its next start). Answers carry a Content-Security-Policy allowing
only this origin: no inline scripts, nothing fetched from elsewhere.

One page needs a token: ``GET /console/ca.pem`` (``ca_certificate_page``), the service CA's
certificate, which the overview of a TLS cluster offers for download (clients of a TLS
cluster must trust it; the CA otherwise lives only in ``<data dir>/tls/ca.pem`` on the
server's machine). The console fetches it with the user's token, as it calls the API.

``python -m managed_redis.api.console_pages`` (``make run`` does it before ``mredis serve``)
prints the console's sign-in link for the admin token, ``/console/#token=…``, creating the
token as the server would if there is none yet. It is printed to the terminal only, never
logged.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from managed_redis.api.auth import Authenticator, ensure_admin_token
from managed_redis.api.rest import Page
from managed_redis.api.static_pages import file_page, folder_pages, page_headers, redirect_page
from managed_redis.settings import Settings, SettingsError, load_settings

CONSOLE_PATH = "/console"
CA_CERTIFICATE_PATH = f"{CONSOLE_PATH}/ca.pem"
_POLICY = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def console_folder() -> Path:
    """Where the console's files are: the package's ``console`` folder."""
    return Path(str(importlib.resources.files("managed_redis.console")))


def console_pages() -> dict[str, Page]:
    """The pages to give ``RestGateway(pages=...)``: the console's files and its redirect."""
    root = console_folder()
    pages = folder_pages(CONSOLE_PATH, root, extra_headers=_POLICY)
    index = file_page(root / "index.html", _POLICY)
    pages[f"{CONSOLE_PATH}/"] = index
    pages[f"{CONSOLE_PATH}/index.html"] = index
    pages[CONSOLE_PATH] = redirect_page(f"{CONSOLE_PATH}/")
    return pages


def ca_certificate_page(authenticator: Authenticator, cert_path: Path, executor: ThreadPoolExecutor) -> Page:
    """The page answering ``GET /console/ca.pem``: the PEM file at ``cert_path`` (the service
    CA, ``CertificateAuthority.cert_path``) as a download named ``ca.pem``, to any caller with
    a valid token (``Authorization: Bearer …``); raises ApiError (Unauthenticated) otherwise."""

    async def page(http_request: web.BaseRequest, request_id: str) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(executor, authenticator.authenticate, http_request.headers.get("Authorization"))
        body = await loop.run_in_executor(executor, cert_path.read_bytes)
        headers = page_headers(request_id, {**_POLICY, "Content-Disposition": 'attachment; filename="ca.pem"'})
        headers["Cache-Control"] = "no-store"
        return web.Response(body=body, content_type="application/x-pem-file", headers=headers)

    return page


def sign_in_link(settings: Settings) -> str:
    """The console's address on the REST listener of ``settings``, signing in with the admin
    token (``MREDIS_ADMIN_TOKEN``, else the token file, created if missing)."""
    token, _ = ensure_admin_token(settings.admin_token_path, settings.admin_token)
    host, _, port = settings.rest_addr.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{CONSOLE_PATH}/#token={quote(token, safe='')}"


def main() -> int:
    """Print the sign-in link of the settings from the environment (and ``MREDIS_CONFIG``)."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"mredis: {exc}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    print(f"mredis: the web console, signed in as admin: {sign_in_link(settings)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
