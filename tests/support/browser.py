"""The web console's browser-test harness: Debian's Chromium, headless, driven by Playwright.

Fixtures (import them into a test module or a conftest to use them):

- ``browser`` (session): one headless Chromium for the test process. Playwright's own browser
  download does not work here; Debian's ``chromium`` package (``make install`` installs it) is
  launched from ``CHROMIUM`` (``MREDIS_CHROMIUM`` overrides the path).
- ``console_server`` (module): a ``mredis serve`` of the module's own (``running_server``)
  whose tokens file holds the admin token, ``VIEWER_TOKEN`` (managed-redis.viewer on
  ``FOLDER``) and ``RESTORER_TOKEN`` (managed-redis.restorer on ``FOLDER``: may read and
  restore, nothing else). Mark the module ``pytest.mark.xdist_group(...)`` so its tests
  share it.
- ``console_page`` (function): a page of a fresh browser context, signed in with the admin
  token through ``/console/#token=…``, folder ``FOLDER`` chosen, showing the cluster list.

``open_console(browser, server, token, route)`` opens a signed-in page for any token and
route; ``screenshot(page, name)`` saves ``docs/screenshots/<name>.png`` for the README;
``page_timings(page)`` reads a page's load times from the browser's Navigation and Resource
Timing (figures to print, never to assert: tests assert no wall-clock times).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.clusters import FOLDER
from tests.support.processes import kill_all
from tests.support.server import RunningServer, running_server, write_tokens

CHROMIUM = os.environ.get("MREDIS_CHROMIUM", "/usr/bin/chromium")
VIEWER_TOKEN = "console-viewer-token-0123456789"
RESTORER_TOKEN = "console-restorer-token-0123456789"
# The words a change control's name starts with; a viewer is offered none of them, a restorer
# only "Restore".
CHANGE_WORDS = re.compile(
    r"^(Add|Delete|Save|Start failover|Back up now|Restore|Create|Disable|Enable|Rotate|Rebalance|Reschedule|Terminate)"
)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# A laptop screen.
VIEWPORT = {"width": 1280, "height": 800}
# Playwright's wait for an element or text (ms): a cluster's creation runs real processes.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium package (make install)")
    with sync_playwright() as playwright:
        # --no-sandbox: tests run as root here, where Chromium's sandbox refuses to start.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("console")
    write_tokens(
        data_dir,
        [
            {"subject": "console-viewer", "token": VIEWER_TOKEN, "roles": {FOLDER: ["managed-redis.viewer"]}},
            {"subject": "console-restorer", "token": RESTORER_TOKEN, "roles": {FOLDER: ["managed-redis.restorer"]}},
        ],
    )
    network = ""
    try:
        with running_server(data_dir) as server:
            network = server.network
            yield server
    finally:
        if network:
            kill_all(network)


@pytest.fixture
def console_page(browser: Browser, console_server: RunningServer) -> Iterator[Page]:
    page = open_console(browser, console_server)
    try:
        yield page
    finally:
        page.context.close()


def open_console(
    browser: Browser, server: RunningServer, token: str | None = None, route: str = "#/clusters", folder: str = FOLDER
) -> Page:
    """A new page (its own context: no storage shared with other pages) signed in with
    ``token`` (the admin token if None), ``folder`` chosen, at ``route``; the caller closes
    ``page.context``."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.add_init_script(
        f"localStorage.getItem('mredis.folder') || localStorage.setItem('mredis.folder', {folder!r});"
    )
    context.add_init_script(_FIRST_ROW_JS)
    page = context.new_page()
    page.goto(f"{server.rest_url}/console/#token={quote(token or server.admin_token, safe='')}")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    if route != "#/clusters":
        page.goto(f"{server.rest_url}/console/{route}")
    return page


def console_url(server: RunningServer, route: str = "") -> str:
    """The console's address on ``server``, at ``route`` (e.g. ``#/clusters``)."""
    return f"{server.rest_url}/console/{route}"


def screenshot(page: Page, name: str) -> Path:
    """Save the page as ``docs/screenshots/<name>.png`` (the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Run in every page before its own scripts: notes when the first row of a table with data
# (a row of the main element's tables) is drawn, in ms since the navigation started.
_FIRST_ROW_JS = """new MutationObserver((_, observer) => {
  if (document.querySelector("main table tbody tr td:not(.muted)")) {
    window.__firstTableRowMs = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });"""

# Times (ms since the navigation started) of the page's load, read in the page.
_TIMINGS_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const api = performance.getEntriesByType("resource").filter((r) => r.name.includes("/managed-redis/v1/"));
  return {
    domContentLoadedMs: nav.domContentLoadedEventEnd,
    loadMs: nav.loadEventEnd,
    firstTableRowMs: window.__firstTableRowMs ?? -1,
    apiCallsSoFar: api.length,
  };
}"""


def page_timings(page: Page) -> dict[str, float]:
    """The load times of the page's first navigation, in ms since it started:
    ``domContentLoadedMs``, ``loadMs``, ``firstTableRowMs`` (when a table of the main element
    first showed a row of data; -1 if none has yet) and ``apiCallsSoFar`` (``/managed-redis/v1/``
    answers received by now)."""
    timings: dict[str, float] = page.evaluate(_TIMINGS_JS)
    return timings
