"""The browser tests' fixtures: the console harness of tests/support/browser.py, the server
under the name the cluster helpers use, and a cluster's tabs opened for a token (each module
that asks for ``page_of`` has its own ``cluster`` fixture)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import browser, console_page, console_server, open_console
from tests.support.server import RunningServer

__all__ = ["browser", "console_page", "console_server"]


@pytest.fixture
def server(console_server: RunningServer) -> RunningServer:
    return console_server


@pytest.fixture
def page_of(browser: Browser, console_server: RunningServer, cluster: dict[str, Any]) -> Iterator[Callable[..., Page]]:
    """Opens the module's cluster's tab for a token (the admin's if None) once it has drawn;
    the pages close after the test."""
    pages: list[Page] = []

    def open_tab(tab: str, token: str | None = None) -> Page:
        page = open_console(browser, console_server, token, route=f"#/clusters/{cluster['id']}/{tab}")
        pages.append(page)
        # A tab has drawn once its data came: a table, the overview's strings, or a note.
        expect(page.locator("main table, main pre.code, main .tab-body p.muted").first).to_be_visible()
        return page

    yield open_tab
    for page in pages:
        page.context.close()


@pytest.fixture
def opened(browser: Browser) -> Iterator[list[Page]]:
    """The pages a test opens (its helpers add them), closed after it."""
    pages: list[Page] = []
    yield pages
    for page in pages:
        page.context.close()
