"""The console's shell and first pages in headless Chromium against a real server: signing in
with a token (the form, and ``#token=`` in the address), the folder's cluster list (live:
a cluster made meanwhile appears and turns RUNNING without a reload; filter by name), the
create-cluster wizard (its operation watched to the end, then the cluster opened; the API's
message beside a bad field, nothing created), the overview's connection strings (the same as
``mredis cluster connect`` prints, copied by a button), the operations tab, and a viewer's
token offered no create button.

One server and one cluster (made by the wizard) for the module; screenshots of the list,
the wizard and the overview go to docs/screenshots/. The first page's load time (a fresh
browser, from the address with the token to the folder's clusters drawn) is printed, not
asserted: run with ``-rP`` to see it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from managed_redis.client_cli.connect import connection_strings
from tests.support.browser import VIEWER_TOKEN, console_url, open_console, page_timings, screenshot
from tests.support.clusters import FOLDER, PASSWORD
from tests.support.server import RunningServer, json_object

pytestmark = pytest.mark.xdist_group("console-clusters")
NAME = "console-made"
OPERATION_MS = 120_000  # how long the wizard may take to show its operation's end


@pytest.fixture
def server(console_server: RunningServer) -> RunningServer:
    return console_server


def clusters_named(server: RunningServer, name: str) -> list[dict[str, Any]]:
    listed = json_object(server.rest("GET", "/managed-redis/v1/clusters", params={"folderId": FOLDER}))
    return [c for c in listed.get("clusters", []) if c["name"] == name]


def fill_wizard(page: Page, name: str, password: str) -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Hosts (per shard)").fill("1")


@pytest.fixture(scope="module")
def made(browser: Browser, console_server: RunningServer) -> Iterator[dict[str, Any]]:
    """The module's one cluster, made with the wizard while another page shows the list:
    what both pages showed, and the cluster's id."""
    listing = open_console(browser, console_server)
    wizard = open_console(browser, console_server, route="#/clusters/new")
    try:
        expect(listing.get_by_text("No clusters in this folder yet.")).to_be_visible()
        fill_wizard(wizard, NAME, PASSWORD)
        wizard.get_by_label("Persistence").select_option("OFF")
        screenshot(wizard, "console-create-cluster")
        wizard.get_by_role("button", name="Create cluster").click()
        status = wizard.get_by_role("status").filter(has_text="Create Redis cluster")
        expect(status).to_contain_text("running")
        seen_running = status.inner_text()
        expect(wizard).to_have_url(re.compile(r"#/clusters/[^/]+/overview$"), timeout=OPERATION_MS)
        cluster_id = wizard.url.split("#/clusters/")[1].split("/")[0]
        row = listing.locator(f"tr[data-cluster-id='{cluster_id}']")
        expect(row.locator("td").nth(1)).to_have_text("RUNNING", timeout=OPERATION_MS)
        yield {"id": cluster_id, "status_line": seen_running, "overview": wizard, "listing": listing}
    finally:
        listing.context.close()
        wizard.context.close()


def test_the_wizard_watches_its_operation_and_opens_the_new_cluster(
    made: dict[str, Any], server: RunningServer
) -> None:
    assert made["status_line"].startswith("Create Redis cluster")
    overview: Page = made["overview"]
    expect(overview.get_by_role("heading", level=1)).to_contain_text(NAME)
    cluster = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{made['id']}"))
    assert cluster["name"] == NAME and cluster["status"] == "RUNNING"
    assert cluster.get("persistenceMode") == "OFF", cluster


def test_the_list_shows_the_cluster_live_and_filters_by_name(made: dict[str, Any], server: RunningServer) -> None:
    listing: Page = made["listing"]
    row = listing.locator(f"tr[data-cluster-id='{made['id']}']")
    cells = row.locator("td")
    expect(cells.nth(0)).to_contain_text(NAME)
    expect(cells.nth(2)).to_have_text("ALIVE", timeout=OPERATION_MS)
    expect(cells.nth(3)).to_have_text(re.compile(r"^\d"))
    expect(cells.nth(4)).to_have_text("1")
    expect(cells.nth(5)).to_have_text("no")
    screenshot(listing, "console-clusters")
    search = listing.get_by_label("Filter by name")
    search.fill("nothing-like-it")
    expect(listing.get_by_text("No cluster's name contains that.")).to_be_visible()
    search.fill("MADE")
    expect(row).to_be_visible()


def test_sign_in_with_the_form(browser: Browser, server: RunningServer, made: dict[str, Any]) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(console_url(server))
        page.get_by_label("Token").fill("not-a-token-of-this-server")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("The token was refused")
        page.get_by_label("Token").fill(server.admin_token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Type a folder id")).to_be_visible()
        page.get_by_label("Folder").fill(FOLDER)
        page.get_by_role("button", name="Open").click()
        expect(page.locator(f"tr[data-cluster-id='{made['id']}']")).to_be_visible()
        page.reload()  # kept for the browser tab's session
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Token")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('mredis.token')") is None
    finally:
        context.close()


def test_a_token_in_the_address_signs_in_and_leaves_the_address(browser: Browser, server: RunningServer) -> None:
    page = open_console(browser, server, route="#/clusters")
    try:
        assert server.admin_token not in page.url and "token=" not in page.url
        assert page.evaluate("sessionStorage.getItem('mredis.token')") == server.admin_token
        page.go_back()  # the entry before is the blank page: none of the history keeps the token
        assert "token" not in page.url, page.url
    finally:
        page.context.close()


def test_a_bad_field_shows_the_apis_message_beside_it_and_creates_nothing(
    browser: Browser, server: RunningServer, made: dict[str, Any]
) -> None:
    page = open_console(browser, server, route="#/clusters/new")
    try:
        cases = [
            ("console-short", "short", "Password", "must be 8-128 characters long"),
            ("bad name!", PASSWORD, "Name", "must match"),
            (NAME, PASSWORD, "Name", NAME),  # taken in the folder: ALREADY_EXISTS, not a field violation
        ]
        for name, password, label, words in cases[:2]:
            fill_wizard(page, name, password)
            page.get_by_role("button", name="Create cluster").click()
            field = page.locator(".field").filter(has=page.get_by_label(label, exact=True))
            expect(field.locator(".field-error")).to_contain_text(words)
            expect(page.get_by_label(label, exact=True)).to_have_attribute("aria-invalid", "true")
            expect(page.locator(".field-error")).to_have_count(1)  # the previous one is gone
            if label == "Password":
                screenshot(page, "console-create-cluster-error")
        name, password, _, words = cases[2]
        fill_wizard(page, name, password)
        page.get_by_role("button", name="Create cluster").click()
        expect(page.get_by_role("alert")).to_contain_text(words)
        assert not clusters_named(server, "console-short") and not clusters_named(server, "bad name!")
        assert len(clusters_named(server, NAME)) == 1
    finally:
        page.context.close()


def test_the_overview_gives_the_connection_strings_of_mredis_cluster_connect(
    browser: Browser, server: RunningServer, made: dict[str, Any]
) -> None:
    cluster = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{made['id']}"))
    hosts = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{made['id']}/hosts"))["hosts"]
    expected = connection_strings(cluster, hosts, "ca.pem")
    page = open_console(browser, server, route=f"#/clusters/{made['id']}/overview")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        cli = page.get_by_label("redis-cli", exact=True)
        expect(cli).to_have_text(expected["redisCli"])
        expect(page.get_by_label("redis-py, sentinel", exact=True)).to_have_text(expected["redisPy"]["sentinel"])
        expect(page.get_by_label("redis-py, standalone", exact=True)).to_have_text(expected["redisPy"]["standalone"])
        page.get_by_role("button", name="Copy redis-cli").click()
        expect(page.get_by_text("Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == expected["redisCli"]
        assert PASSWORD not in page.content()
        expect(page.get_by_role("button", name=re.compile("Download the CA"))).to_have_count(0)  # no TLS
        screenshot(page, "console-cluster-overview")
        page.get_by_role("link", name="Operations").click()
        row = page.locator("tbody tr").filter(has_text="Create Redis cluster")
        expect(row).to_contain_text("DONE")
    finally:
        page.context.close()


def test_a_viewer_is_offered_no_create_button(browser: Browser, server: RunningServer, made: dict[str, Any]) -> None:
    admin = open_console(browser, server)
    viewer = open_console(browser, server, VIEWER_TOKEN)
    try:
        expect(admin.get_by_role("button", name="Create cluster")).to_be_visible()
        expect(viewer.locator(f"tr[data-cluster-id='{made['id']}']")).to_be_visible()
        expect(viewer.get_by_role("button", name="Create cluster")).to_have_count(0)
        viewer.goto(console_url(server, "#/clusters/new"))
        expect(viewer.get_by_text("This token may not create clusters")).to_be_visible()
        expect(viewer.get_by_label("Password")).to_have_count(0)
        viewer.goto(console_url(server, f"#/clusters/{made['id']}/overview"))
        expect(viewer.get_by_role("button", name="Copy redis-cli")).to_be_visible()
    finally:
        admin.context.close()
        viewer.context.close()


def test_the_first_page_load_time_is_printed(browser: Browser, server: RunningServer, made: dict[str, Any]) -> None:
    started = time.perf_counter()
    page = open_console(browser, server)  # a fresh context: nothing cached
    try:
        expect(page.locator(f"tr[data-cluster-id='{made['id']}']")).to_be_visible()
        seen_ms = (time.perf_counter() - started) * 1000
        timings = page_timings(page)
        print(
            "console first page, ms since the navigation: DOMContentLoaded {domContentLoadedMs:.0f}, "
            "load {loadMs:.0f}, the folder's clusters drawn {firstTableRowMs:.0f}; ".format(**timings)
            + f"{seen_ms:.0f} as the test saw it (a new browser context included)"
        )
        # Drawn from the API's answers: the rights probe, the cluster list, the cluster's hosts.
        assert timings["firstTableRowMs"] > timings["domContentLoadedMs"] > 0, timings
        assert timings["apiCallsSoFar"] >= 3, timings
    finally:
        page.context.close()
