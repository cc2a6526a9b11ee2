"""The console's cluster tabs in headless Chromium against a real server and a real cluster:
hosts (add one and watch its operation end), backups (back up, restore into a new cluster, a
bad field's message beside it), users (create one that then works in Redis), logs (a line the
running backup writes appears in the live tail without a reload), monitoring (charts of the
cluster's hosts), and a viewer's token offered no change buttons on any of these tabs.

One server and one cluster for the module; screenshots of the tabs go to docs/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import CHANGE_WORDS, VIEWER_TOKEN, open_console, screenshot
from tests.support.clusters import FOLDER, PASSWORD, create_cluster, hosts_of, master_of, run, wait_alive
from tests.support.server import RunningServer, json_object, wait_until

pytestmark = pytest.mark.xdist_group("console-cluster-pages")
OPERATION_MS = 120_000  # how long a page may take to show an operation's end


@pytest.fixture(scope="module")
def cluster(console_server: RunningServer) -> dict[str, Any]:
    """One single-host cluster for the module (the hosts test adds its replica)."""
    return create_cluster(console_server, "console-pages", hosts=1)


def open_tab(
    opened: list[Page], browser: Browser, server: RunningServer, cluster_id: str, tab: str, token: str | None = None
) -> Page:
    """A page signed in with ``token`` (the admin's if None) showing the cluster's ``tab``."""
    page = open_console(browser, server, token, route=f"#/clusters/{cluster_id}/{tab}")
    opened.append(page)
    expect(page.get_by_role("heading", level=2).first).to_be_visible()
    return page


def test_hosts_tab_adds_a_host_and_follows_its_operation(
    browser: Browser, opened: list[Page], server: RunningServer, cluster: dict[str, Any]
) -> None:
    page = open_tab(opened, browser, server, cluster["id"], "hosts")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("MASTER")
    page.get_by_label("Zone").select_option("ru-central1-b")
    page.get_by_role("button", name="Add host").click()
    status = page.get_by_role("status").first
    expect(status).to_contain_text("running")
    expect(status).to_have_attribute("data-state", "done", timeout=OPERATION_MS)
    expect(rows).to_have_count(2)
    expect(page.locator("table tbody tr", has_text="REPLICA")).to_contain_text("ru-central1-b")
    wait_alive(server, cluster["id"])
    expect(page.locator("table tbody tr", has_text="REPLICA")).to_contain_text("ALIVE", timeout=30_000)
    assert {host["zoneId"] for host in hosts_of(server, cluster["id"])} == {"ru-central1-a", "ru-central1-b"}
    screenshot(page, "cluster-hosts")


def test_backup_now_then_restore_into_a_new_cluster(
    browser: Browser, opened: list[Page], server: RunningServer, cluster: dict[str, Any]
) -> None:
    page = open_tab(opened, browser, server, cluster["id"], "backups")
    before = len(
        json_object(server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}/backups")).get("backups", [])
    )
    page.get_by_role("button", name="Back up now").click()
    expect(page.get_by_role("status").first).to_have_attribute("data-state", "done", timeout=OPERATION_MS)
    expect(page.locator("table tbody tr", has_text="MANUAL")).to_have_count(before + 1)
    page.get_by_role("button", name=re.compile("^Restore ")).first.click()
    form = page.locator("form", has=page.get_by_role("heading", name=re.compile("into a new cluster")))
    form.get_by_label("Name").fill("console-restored")
    form.get_by_role("button", name="Restore", exact=True).click()
    password = form.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".field-error")).to_have_text("required")  # the API's word, beside the field
    screenshot(page, "cluster-backups")
    password.fill(PASSWORD)
    form.get_by_role("button", name="Restore", exact=True).click()
    expect(form.get_by_role("link", name="console-restored")).to_be_visible(timeout=OPERATION_MS)
    listed = json_object(server.rest("GET", f"/managed-redis/v1/clusters?folderId={FOLDER}"))["clusters"]
    (restored,) = [c for c in listed if c["name"] == "console-restored"]
    assert restored["status"] == "RUNNING"
    run(server, "DELETE", f"/managed-redis/v1/clusters/{restored['id']}")


def test_create_a_user_who_then_works_in_redis(
    browser: Browser, opened: list[Page], server: RunningServer, cluster: dict[str, Any]
) -> None:
    page = open_tab(opened, browser, server, cluster["id"], "users")
    form = page.locator("form", has=page.get_by_role("heading", name="Create a user"))
    form.get_by_label("Name").fill("app")
    form.get_by_label("Password").fill("App-Password-1")
    form.get_by_label("Key patterns").fill("~app:*")
    form.get_by_label("Commands").fill("+get +set")
    form.get_by_role("button", name="Create user").click()
    expect(form.get_by_role("status")).to_have_attribute("data-state", "done", timeout=OPERATION_MS)
    row = page.locator("table tbody tr", has_text=re.compile(r"^app"))
    expect(row).to_contain_text("~app:*")
    expect(form.get_by_label("Name")).to_have_value("")  # the form is ready for the next user
    expect(form.get_by_label("Enabled")).to_be_checked()
    master = next(h["name"] for h in hosts_of(server, cluster["id"]) if h.get("role") == "MASTER")
    app = redis.Redis(host=master, username="app", password="App-Password-1", decode_responses=True, socket_timeout=5)
    assert app.set("app:one", "1") and app.get("app:one") == "1"
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.set("other", "1")
    screenshot(page, "cluster-users")


def test_logs_tail_shows_the_running_backup_without_a_reload(
    browser: Browser, opened: list[Page], server: RunningServer, cluster: dict[str, Any]
) -> None:
    page = open_tab(opened, browser, server, cluster["id"], "logs")
    expect(page.locator(".log-line").first).to_be_visible()
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("button", name="Stop following")).to_be_visible()
    expect(page.locator(".log-line").first).to_be_visible()
    saved = page.locator(".log-line", has_text=re.compile("Background saving started|DB saved on disk"))
    already = saved.count()
    operation = json_object(server.rest("POST", f"/managed-redis/v1/clusters/{cluster['id']}:backup"))
    expect(saved).not_to_have_count(already, timeout=60_000)
    page.get_by_role("button", name="Stop following").click()
    wait_until(lambda: server.rest("GET", f"/operations/{operation['id']}").json().get("done"), timeout_s=120)
    screenshot(page, "cluster-logs")


def test_monitoring_charts_each_host(
    browser: Browser, opened: list[Page], server: RunningServer, cluster: dict[str, Any]
) -> None:
    page = open_tab(opened, browser, server, cluster["id"], "monitoring")
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(4)
    hosts = [h["name"] for h in hosts_of(server, cluster["id"])]
    memory = charts.filter(has_text="Memory used")
    for host in hosts:
        expect(memory.locator(".legend")).to_contain_text(re.compile(re.escape(host) + r": \d"), timeout=60_000)
    expect(charts.filter(has_text="Commands per second").locator("path")).not_to_have_count(0, timeout=60_000)
    # Drawn again at each sample: a line once a host has two points, without a reload.
    expect(memory.locator("path").first).to_have_attribute("d", re.compile(r"L"))
    screenshot(page, "cluster-monitoring")


@pytest.mark.parametrize(
    "tab", ["overview", "hosts", "backups", "users", "operations", "logs", "monitoring", "maintenance"]
)
def test_a_viewer_is_offered_no_change_buttons(
    browser: Browser, opened: list[Page], server: RunningServer, cluster: dict[str, Any], tab: str
) -> None:
    page = open_tab(opened, browser, server, cluster["id"], tab, token=VIEWER_TOKEN)
    main = page.locator("main")
    expect(main.locator("table, .log-line, figure.chart, pre.code").first).to_be_visible(timeout=20_000)
    changes = main.get_by_role("button", name=CHANGE_WORDS)
    assert changes.count() == 0, changes.all_inner_texts()
    assert main.locator("form input[type=password]").count() == 0


def test_operations_tab_shows_a_running_operation_step_by_step(
    browser: Browser, opened: list[Page], server: RunningServer
) -> None:
    """A rolling restart (a new ``databases`` count is read only at start) runs a few seconds:
    the tab, refreshing itself, shows the step it runs and those done, then its end."""
    restarted = create_cluster(server, "console-steps", hosts=3)
    # Enough data that each host takes a while to come back (its AOF loaded, a replica synced).
    master = redis.Redis(host=master_of(server, restarted["id"]), port=6379, password=PASSWORD)
    for start in range(0, 400_000, 10_000):
        pipe = master.pipeline(transaction=False)
        for number in range(start, start + 10_000):
            pipe.set(f"key:{number}", "x" * 100)
        pipe.execute()
    page = open_tab(opened, browser, server, restarted["id"], "operations")
    body = {"updateMask": "configSpec.redis.databases", "configSpec": {"redis": {"databases": 32}}}
    response = server.rest("PATCH", f"/managed-redis/v1/clusters/{restarted['id']}", json=body)
    assert response.status_code == 200, response.text
    operation_id = json_object(response)["id"]
    row = page.locator(f"tr[data-operation-id='{operation_id}']")
    running = row.locator("[aria-current=step]")
    expect(running).to_contain_text(": running", timeout=30_000)
    expect(row.get_by_role("list", name="Steps")).to_be_visible()
    expect(row.locator("td").nth(1)).to_contain_text("DONE", timeout=OPERATION_MS)
    expect(running).to_have_count(0)
    run(server, "DELETE", f"/managed-redis/v1/clusters/{restarted['id']}")
