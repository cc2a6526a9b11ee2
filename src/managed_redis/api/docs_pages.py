"""The REST API's own description, as pages of the REST gateway (``rest.Page``), no token needed.

- ``GET /openapi.json``: the OpenAPI 3.1 document (``openapi.build_document``), made once.
- ``GET /docs``: a Swagger UI page reading it, served from the ``swagger-ui-bundle`` package's
  files under ``/docs/<file>``: nothing is fetched from the internet (the UI's online
  validator badge is off). That bundle is Swagger UI 4.15, which renders OpenAPI 3.0 only,
  so the page reads ``/docs/openapi-3.0.json``: the same document declared as 3.0.3
  (``openapi.as_openapi_30``).
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from managed_redis.api.methods import Method
from managed_redis.api.openapi import as_openapi_30, build_document
from managed_redis.api.rest import Page
from managed_redis.api.static_pages import file_page, text_page

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
_DOCS_SPEC_PATH = f"{DOCS_PATH}/openapi-3.0.json"
# The bundle's own page and initializer point at the petstore on the internet: ours replace them.
_REPLACED = frozenset({"index.html", "index.j2", "swagger-initializer.js"})

_INDEX = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>managed-redis REST API</title>
    <link rel="stylesheet" type="text/css" href="{docs}/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="{docs}/index.css" />
    <link rel="icon" type="image/png" href="{docs}/favicon-32x32.png" sizes="32x32" />
    <link rel="icon" type="image/png" href="{docs}/favicon-16x16.png" sizes="16x16" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="{docs}/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="{docs}/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="{docs}/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
"""

_INITIALIZER = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: %s,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
};
"""


def bundle_files() -> dict[str, Path]:
    """The Swagger UI files served as they are, by their path under ``/docs``."""
    # The package names its one vendored folder by Swagger UI's version (swagger-ui-4.15.5).
    vendor = Path(str(importlib.resources.files("swagger_ui_bundle").joinpath("vendor")))
    root = next(path for path in sorted(vendor.iterdir()) if path.name.startswith("swagger-ui-"))
    return {
        f"{DOCS_PATH}/{path.name}": path
        for path in sorted(root.iterdir())
        if path.is_file() and path.name not in _REPLACED
    }


def docs_pages(methods: Sequence[Method]) -> dict[str, Page]:
    """The pages to give ``RestGateway(pages=...)``: the OpenAPI document, the UI and its files."""
    document = build_document(methods)
    pages: dict[str, Page] = {
        OPENAPI_PATH: text_page(_json(document), "application/json"),
        _DOCS_SPEC_PATH: text_page(_json(as_openapi_30(document)), "application/json"),
        f"{DOCS_PATH}/swagger-initializer.js": text_page(
            _INITIALIZER % json.dumps(_DOCS_SPEC_PATH), "application/javascript"
        ),
    }
    index = text_page(_INDEX.format(docs=DOCS_PATH), "text/html")
    for path in (DOCS_PATH, f"{DOCS_PATH}/", f"{DOCS_PATH}/index.html"):
        pages[path] = index
    for path, file in bundle_files().items():
        pages[path] = file_page(file)
    return pages


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1) + "\n"
