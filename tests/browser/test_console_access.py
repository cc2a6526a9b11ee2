"""What the console offers by the cluster and by the token, in headless Chromium against a real
server: a TLS cluster's overview hands out the service CA (the file a TLS client then connects
with), and a restorer's token (managed-redis.restorer: read and restore, nothing else) is
offered Restore on the backups tab and no other change anywhere, and restores for real.

One server and one TLS cluster of one host (made over REST) for the module; the overview's
screenshot goes to docs/screenshots/cluster-overview-tls.png.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import CHANGE_WORDS, RESTORER_TOKEN, open_console, screenshot
from tests.support.clusters import FOLDER, PASSWORD, client, create_cluster, master_of, run
from tests.support.server import RunningServer, json_object
from tests.support.versions import requires_tls

pytestmark = [pytest.mark.xdist_group("console-access"), requires_tls]
OPERATION_MS = 120_000  # how long the page may take to show an operation's end
TLS_PORT = 6380


@pytest.fixture(scope="module")
def cluster(console_server: RunningServer) -> dict[str, Any]:
    """A TLS cluster of one host holding the key ``kept`` (for the restore to carry), backed up once."""
    created = create_cluster(console_server, "console-tls", hosts=1, tlsEnabled=True)
    tls_client(master_of(console_server, created["id"]), console_server.data_dir / "tls" / "ca.pem").set("kept", "yes")
    run(console_server, "POST", f"/managed-redis/v1/clusters/{created['id']}:backup")
    return created


def tls_client(host: str, ca_file: Path) -> redis.Redis:
    return redis.Redis(
        host=host, port=TLS_PORT, password=PASSWORD, ssl=True, ssl_ca_certs=str(ca_file), socket_timeout=5
    )


def test_a_tls_cluster_offers_the_ca_a_client_then_connects_with(
    page_of: Any, server: RunningServer, cluster: dict[str, Any], tmp_path: Path
) -> None:
    page: Page = page_of("overview")
    expect(page.get_by_label("redis-cli", exact=True)).to_contain_text(f"-p {TLS_PORT} --tls --cacert ca.pem")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the CA certificate (ca.pem)").click()
    assert download.value.suggested_filename == "ca.pem"
    saved = tmp_path / "ca.pem"
    download.value.save_as(saved)
    assert saved.read_bytes() == (server.data_dir / "tls" / "ca.pem").read_bytes()
    expect(page.get_by_text("Saved ca.pem")).to_be_visible()
    assert tls_client(master_of(server, cluster["id"]), saved).get("kept") == b"yes"
    screenshot(page, "cluster-overview-tls")
    # The page behind the button wants a token, as the API does.
    assert server.rest("GET", "/console/ca.pem", token=None).status_code == 401
    assert server.rest("GET", "/console/ca.pem", token="not-a-token-of-this-server").status_code == 401


def test_the_ca_is_no_secret_to_a_restorer_either(page_of: Any, server: RunningServer) -> None:
    page: Page = page_of("overview", RESTORER_TOKEN)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the CA certificate (ca.pem)").click()
    assert Path(download.value.path()).read_bytes() == (server.data_dir / "tls" / "ca.pem").read_bytes()


def test_a_restorer_is_offered_restore_and_restores(
    page_of: Any, server: RunningServer, cluster: dict[str, Any]
) -> None:
    backups = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}/backups"))["backups"]
    page: Page = page_of("backups", RESTORER_TOKEN)
    main = page.locator("main")
    expect(main.get_by_role("button", name=re.compile("^Restore "))).to_have_count(len(backups))
    offered = main.get_by_role("button", name=CHANGE_WORDS).all_inner_texts()
    assert offered == ["Restore…"] * len(backups), offered  # no "Back up now"
    main.get_by_role("button", name=re.compile("^Restore ")).first.click()
    form = page.locator("form", has=page.get_by_role("heading", name=re.compile("into a new cluster")))
    form.get_by_label("Name").fill("console-restored-by-restorer")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Restore", exact=True).click()
    expect(form.get_by_role("link", name="console-restored-by-restorer")).to_be_visible(timeout=OPERATION_MS)
    listed = json_object(server.rest("GET", "/managed-redis/v1/clusters", params={"folderId": FOLDER}))["clusters"]
    (restored,) = [c for c in listed if c["name"] == "console-restored-by-restorer"]
    assert restored["status"] == "RUNNING"
    operations = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{restored['id']}/operations"))
    assert [op["createdBy"] for op in operations["operations"]] == ["console-restorer"]
    assert client(master_of(server, restored["id"])).get("kept") == "yes"
    run(server, "DELETE", f"/managed-redis/v1/clusters/{restored['id']}")


@pytest.mark.parametrize("tab", ["overview", "hosts", "shards", "users", "operations", "maintenance"])
def test_a_restorer_is_offered_no_other_change(page_of: Any, tab: str) -> None:
    page: Page = page_of(tab, RESTORER_TOKEN)
    main = page.locator("main")
    expect(main.get_by_role("heading", level=2).first).to_be_visible()
    changes = main.get_by_role("button", name=CHANGE_WORDS)
    assert changes.count() == 0, changes.all_inner_texts()
    assert main.locator("form input[type=password]").count() == 0


def test_a_restorer_is_offered_no_create_button(
    browser: Browser, server: RunningServer, cluster: dict[str, Any]
) -> None:
    page = open_console(browser, server, RESTORER_TOKEN)
    try:
        expect(page.locator(f"tr[data-cluster-id='{cluster['id']}']")).to_be_visible()
        expect(page.get_by_role("button", name="Create cluster")).to_have_count(0)
    finally:
        page.context.close()


def test_a_tls_client_without_the_ca_is_refused(server: RunningServer, cluster: dict[str, Any]) -> None:
    """The download matters: the cluster's certificate is trusted by nothing else."""
    host = master_of(server, cluster["id"])
    with pytest.raises((redis.ConnectionError, ssl.SSLError)):
        redis.Redis(
            host=host, port=TLS_PORT, password=PASSWORD, ssl=True, ssl_cert_reqs="required", socket_timeout=3
        ).ping()
