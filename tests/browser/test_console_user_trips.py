"""What a first user of the console tripped on, in headless Chromium against a real server:
a viewer's users tab ended in a stray ``null``, a table of one said "1 users", the wizard's
preset list ran over the disk size beside it, and the replication-lag chart subtracted a
replica's offset from its master's read up to a metrics period apart (phantom lag of
kilobytes on an idle cluster, or none when the replica was read later).

One server and one single-host cluster for the module.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import VIEWER_TOKEN, open_console
from tests.support.clusters import create_cluster
from tests.support.server import RunningServer

pytestmark = pytest.mark.xdist_group("console-user-trips")


@pytest.fixture(scope="module")
def cluster(console_server: RunningServer) -> dict[str, Any]:
    return create_cluster(console_server, "console-trips", hosts=1)


def open_page(
    opened: list[Page], browser: Browser, server: RunningServer, route: str, token: str | None = None
) -> Page:
    page = open_console(browser, server, token, route=route)
    opened.append(page)
    return page


def test_a_viewers_users_tab_ends_with_no_stray_null(
    browser: Browser, opened: list[Page], console_server: RunningServer, cluster: dict[str, Any]
) -> None:
    page = open_page(opened, browser, console_server, f"#/clusters/{cluster['id']}/users", VIEWER_TOKEN)
    body = page.locator("main section.tab-body")
    expect(body.locator("table")).to_be_visible()
    assert "null" not in body.inner_text()


def test_a_table_of_one_says_it_in_the_singular(
    browser: Browser, opened: list[Page], console_server: RunningServer, cluster: dict[str, Any]
) -> None:
    page = open_page(opened, browser, console_server, f"#/clusters/{cluster['id']}/users")
    expect(page.locator("main table caption")).to_have_text("1 user")
    page = open_page(opened, browser, console_server, f"#/clusters/{cluster['id']}/hosts")
    expect(page.locator("main table caption")).to_have_text("1 host")


def test_the_wizards_preset_list_stays_beside_the_disk_size(
    browser: Browser, opened: list[Page], console_server: RunningServer
) -> None:
    page = open_page(opened, browser, console_server, "#/clusters/new")
    preset = page.get_by_label("Resource preset")
    disk = page.get_by_label("Disk size, GiB")
    expect(preset).to_be_visible()
    preset_box, disk_box = preset.bounding_box(), disk.bounding_box()
    assert preset_box and disk_box
    assert preset_box["x"] + preset_box["width"] <= disk_box["x"], (preset_box, disk_box)


# A scrape of an idle Sentinel cluster: the master was read before its replicas (their
# offsets are ahead of the master's own), as the supervisor reads each host in turn.
METRICS = """\
redis_master_repl_offset{cluster_id="c1",host="10.0.0.1",role="master"} 41124
redis_connected_slave_offset_bytes{cluster_id="c1",host="10.0.0.1",role="master",slave_ip="10.0.0.2",slave_port="6379",slave_state="online"} 40978
redis_connected_slave_offset_bytes{cluster_id="c1",host="10.0.0.1",role="master",slave_ip="10.0.0.3",slave_port="6379",slave_state="online"} 39580
redis_master_repl_offset{cluster_id="c1",host="10.0.0.2",role="replica"} 41402
redis_slave_repl_offset{cluster_id="c1",host="10.0.0.2",role="replica",master_host="10.0.0.1",master_port="6379"} 41402
redis_master_repl_offset{cluster_id="c1",host="10.0.0.3",role="replica"} 39706
redis_slave_repl_offset{cluster_id="c1",host="10.0.0.3",role="replica",master_host="10.0.0.1",master_port="6379"} 39706
"""


def test_replication_lag_is_the_masters_own_reading_of_each_replica(
    browser: Browser, opened: list[Page], console_server: RunningServer
) -> None:
    page = open_page(opened, browser, console_server, "#/clusters")
    lag = page.evaluate(
        """async (text) => {
          const { parseMetrics } = await import("/console/pages/prom_text.js");
          const { replicationLag } = await import("/console/pages/monitoring.js");
          return replicationLag(parseMetrics(text));
        }""",
        METRICS,
    )
    # The master's offset less what it last heard each replica acknowledge, both from one INFO.
    assert lag == {"10.0.0.2": 146, "10.0.0.3": 1544}
