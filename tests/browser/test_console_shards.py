"""The console's shards tab in headless Chromium against a real server and a real sharded
cluster (Redis Cluster mode): each shard with its hosts and its slot count, which Redis itself
confirms after each change (the API has no slots: the console counts them from the cluster's
operations, pages/slot_shares.js); adding a shard (it holds no slots until a Rebalance),
rebalancing (an even share each), deleting a shard (its slots go back); and a viewer's or a
restorer's token offered none of these on the shards or hosts tab.

One server and one cluster (one shard of one host, made over REST) for the module; the tab's
screenshot goes to docs/screenshots/cluster-shards.png.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import CHANGE_WORDS, RESTORER_TOKEN, VIEWER_TOKEN, screenshot
from tests.support.clusters import client, create_body, hosts_of, run
from tests.support.server import RunningServer, wait_until

pytestmark = pytest.mark.xdist_group("console-shards")
OPERATION_MS = 180_000  # how long the page may take to show an operation's end (a rebalance moves 8192 slots)


@pytest.fixture(scope="module")
def cluster(console_server: RunningServer) -> dict[str, Any]:
    """A sharded cluster of one shard (``shard1``) of one host."""
    body = create_body("console-shards", hosts=1, sharded=True)
    body["hostSpecs"] = [{"zoneId": "ru-central1-a", "shardName": "shard1"}]
    done = run(console_server, "POST", "/managed-redis/v1/clusters", body)
    created: dict[str, Any] = done["response"]
    return created


def slots_by_shard(server: RunningServer, cluster_id: str) -> dict[str, int]:
    """How many slots each shard's master serves, as Redis itself says (CLUSTER SLOTS)."""
    hosts = hosts_of(server, cluster_id)
    shard_of = {host["name"]: host["shardName"] for host in hosts}
    served: Counter[str] = Counter({host["shardName"]: 0 for host in hosts})
    for first, last, master, *_ in client(hosts[0]["name"]).execute_command("CLUSTER", "SLOTS"):
        served[shard_of[master[0]]] += last - first + 1
    return dict(served)


def expect_slots(page: Page, shard: str, text: str | re.Pattern[str]) -> None:
    row = page.locator("main table tbody tr", has=page.get_by_role("cell", name=shard, exact=True))
    expect(row.locator("td").nth(1)).to_have_text(text, timeout=OPERATION_MS)


def test_add_a_shard_rebalance_then_delete_it(page_of: Any, server: RunningServer, cluster: dict[str, Any]) -> None:
    page: Page = page_of("shards")
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("MASTER")
    expect_slots(page, "shard1", "16384")
    assert slots_by_shard(server, cluster["id"]) == {"shard1": 16384}

    page.get_by_label("Shard name").fill("shard2")
    page.get_by_label("Replicas").fill("0")
    page.get_by_role("button", name="Add shard").click()
    status = page.get_by_role("status").first
    expect(status).to_contain_text("running")
    expect(status).to_have_attribute("data-state", "done", timeout=OPERATION_MS)
    expect(rows).to_have_count(2)
    expect_slots(page, "shard2", "0 (until a Rebalance)")
    expect_slots(page, "shard1", "16384")
    assert slots_by_shard(server, cluster["id"]) == {"shard1": 16384, "shard2": 0}
    expect(page.get_by_label("Shard name")).to_have_value("")  # ready for the next shard
    expect(page.get_by_label("Replicas")).to_have_value("1")

    page.get_by_role("button", name="Rebalance slots").click()
    expect(status).to_contain_text("Rebalance")
    expect(status).to_have_attribute("data-state", "done", timeout=OPERATION_MS)
    expect_slots(page, "shard1", "8192")
    expect_slots(page, "shard2", "8192")
    assert slots_by_shard(server, cluster["id"]) == {"shard1": 8192, "shard2": 8192}
    expect(page.locator("main table tbody tr", has_text="shard2")).to_contain_text("MASTER")
    screenshot(page, "cluster-shards")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete shard shard2").click()
    expect(status).to_contain_text("Delete shard")
    expect(status).to_have_attribute("data-state", "done", timeout=OPERATION_MS)
    expect(rows).to_have_count(1)
    expect_slots(page, "shard1", "16384")
    wait_until(lambda: slots_by_shard(server, cluster["id"]) == {"shard1": 16384}, timeout_s=30)
    assert {host["shardName"] for host in hosts_of(server, cluster["id"])} == {"shard1"}


@pytest.mark.parametrize("tab", ["shards", "hosts"])
@pytest.mark.parametrize("who", ["viewer", "restorer"])
def test_a_viewer_or_restorer_is_offered_no_shard_changes(page_of: Any, tab: str, who: str) -> None:
    page: Page = page_of(tab, VIEWER_TOKEN if who == "viewer" else RESTORER_TOKEN)
    main = page.locator("main")
    expect(main.locator("table tbody tr").first).to_contain_text("shard1")
    if tab == "shards":
        expect_slots(page, "shard1", re.compile(r"^\d+$"))  # what a viewer is shown: the counts
    changes = main.get_by_role("button", name=CHANGE_WORDS)
    assert changes.count() == 0, changes.all_inner_texts()
    assert main.locator("form").count() == 0
