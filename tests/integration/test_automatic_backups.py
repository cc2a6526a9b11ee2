"""Automatic backups in the cluster's window, taken once per window, none while STOPPED;
retention removes what expired and keeps the rest. The scheduler runs here on a clock the
test drives, against the same database and data directory as a real server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from managed_redis.app import build_components
from managed_redis.operations.scheduler import BackupScheduler
from managed_redis.settings import load_settings
from tests.support.clusters import FOLDER, client, create_cluster, master_of, run, wait_operation
from tests.support.moved_clock import MovedClock
from tests.support.processes import kill_all
from tests.support.server import RunningServer, host_network, json_object, running_server

# The module's server, a scheduler on the same database, and the clock that scheduler reads.
World = tuple[RunningServer, BackupScheduler, MovedClock]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    network = host_network()
    data_dir = tmp_path_factory.mktemp("auto")
    # The server's own scheduler passes once at start, then not for a day: this test drives one.
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_SCHEDULER_PERIOD_S": "86400"}
    try:
        with running_server(data_dir, env=env) as server:
            settings = load_settings(flags={"data_dir": str(data_dir)}, env={})
            components = build_components(settings)
            clock = MovedClock(dt.datetime.now(dt.UTC))
            scheduler = BackupScheduler(components.db, components.deps, components.queue, clock)
            yield server, scheduler, clock
            components.db.dispose()
    finally:
        kill_all(network)


def backups_of(server: RunningServer, cluster_id: str) -> list[dict[str, Any]]:
    reply = json_object(server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}/backups"))
    backups: list[dict[str, Any]] = reply.get("backups", [])
    return backups


def next_window(minutes_ahead: int = 5) -> tuple[dict[str, int], dt.datetime]:
    """A window start a few minutes from now (API form), and the moment a day later inside it."""
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes_ahead)).replace(second=0, microsecond=0)
    inside = start + dt.timedelta(days=1, minutes=2)
    return {"hours": start.hour, "minutes": start.minute}, inside


def test_window_starts_one_automated_backup(world: World) -> None:
    server, scheduler, clock = world
    window, inside = next_window()
    cluster = create_cluster(
        server,
        "auto-window",
        hosts=2,
        configSpec={
            "resources": {"resourcePresetId": "hm1.nano"},
            "redis": {"password": "Test-Password-1"},
            "backupWindowStart": window,
        },
    )
    cluster_id = cluster["id"]
    client(master_of(server, cluster_id)).set("k", "v")

    clock.current = inside - dt.timedelta(minutes=5)  # before the window opens
    assert scheduler.run_once() == []
    clock.current = inside
    started = scheduler.run_once()
    assert len(started) == 1
    done = wait_operation(server, {"id": started[0]})
    assert "error" not in done and done["description"] == "Create automatic backup for Redis cluster"
    assert [b["type"] for b in backups_of(server, cluster_id)] == ["AUTOMATED"]

    # The same window is never taken twice, whoever asks.
    clock.current = inside + dt.timedelta(minutes=3)
    assert scheduler.run_once() == []
    # Once it has closed, nothing starts until the next day's window.
    clock.current = inside + dt.timedelta(hours=2)
    assert scheduler.run_once() == []
    clock.current = inside + dt.timedelta(days=1)
    second = scheduler.run_once()
    assert len(second) == 1
    wait_operation(server, {"id": second[0]})
    assert len(backups_of(server, cluster_id)) == 2


def test_no_automatic_backup_while_stopped(world: World) -> None:
    server, scheduler, clock = world
    window, inside = next_window()
    cluster = create_cluster(
        server,
        "auto-stopped",
        hosts=1,
        configSpec={
            "resources": {"resourcePresetId": "hm1.nano"},
            "redis": {"password": "Test-Password-1"},
            "backupWindowStart": window,
        },
    )
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster['id']}:stop")
    clock.current = inside
    scheduler.run_once()
    assert backups_of(server, cluster["id"]) == []


def test_retention_removes_expired_and_keeps_the_rest(world: World) -> None:
    server, scheduler, clock = world
    window, inside = next_window()
    config = {
        "resources": {"resourcePresetId": "hm1.nano"},
        "redis": {"password": "Test-Password-1"},
        "backupWindowStart": window,
    }
    short = create_cluster(server, "auto-keep-7", hosts=1, configSpec={**config, "backupRetainPeriodDays": "7"})
    long = create_cluster(server, "auto-keep-30", hosts=1, configSpec={**config, "backupRetainPeriodDays": "30"})
    kept_by_policy = create_cluster(
        server, "auto-policy", hosts=1, configSpec={**config, "backupRetainPeriodDays": "7"}
    )
    # Its window is 12 hours from the others: the default one (22:00) may be open at `inside`.
    far = {"hours": (window["hours"] + 12) % 24, "minutes": window["minutes"]}
    doomed = create_cluster(server, "auto-deleted", hosts=1, configSpec={**config, "backupWindowStart": far})
    policy = run(
        server,
        "POST",
        f"/managed-redis/v1/clusters/{kept_by_policy['id']}/retention_policies",
        {
            "policyName": "keep-everything-longer",
            "retainForDays": "60",
            "cron": {"dayOfMonth": "*", "month": "*", "dayOfWeek": "*"},
        },
    )
    assert policy["response"]["retainForDays"] == "60"

    clock.current = inside
    for operation_id in scheduler.run_once():
        wait_operation(server, {"id": operation_id})
    for cluster in (short, long, kept_by_policy):
        assert [b["type"] for b in backups_of(server, cluster["id"])] == ["AUTOMATED"]
    run(server, "POST", f"/managed-redis/v1/clusters/{short['id']}:backup")  # a MANUAL one stays
    run(server, "POST", f"/managed-redis/v1/clusters/{doomed['id']}:backup")
    run(server, "DELETE", f"/managed-redis/v1/clusters/{doomed['id']}")
    assert len(server.rest("GET", f"/managed-redis/v1/backups?folderId={FOLDER}").json()["backups"]) >= 5

    clock.current = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    mine = {short["id"], long["id"], kept_by_policy["id"], doomed["id"]}
    removed = [backup_id for backup_id in scheduler.remove_expired() if backup_id.split(":")[0] in mine]
    assert sorted(backup_id.split(":")[0] for backup_id in removed) == sorted([short["id"], doomed["id"]])
    assert [b["type"] for b in backups_of(server, short["id"])] == ["MANUAL"]
    assert len(backups_of(server, long["id"])) == 1
    assert len(backups_of(server, kept_by_policy["id"])) == 1
    remaining = server.rest("GET", f"/managed-redis/v1/backups?folderId={FOLDER}").json()["backups"]
    assert doomed["id"] not in {b["sourceClusterId"] for b in remaining}
    for backup_id in removed:
        assert not (server.data_dir / "backups" / backup_id.replace(":", "/")).joinpath("shard1.rdb.zst").exists()

    clock.current = dt.datetime.now(dt.UTC) + dt.timedelta(days=61)
    scheduler.remove_expired()
    assert backups_of(server, kept_by_policy["id"]) == []
    assert [b["type"] for b in backups_of(server, short["id"])] == ["MANUAL"]


def test_retention_policy_crud_and_checks(world: World) -> None:
    server, _, _ = world
    cluster = create_cluster(server, "auto-policies", hosts=1)
    base = f"/managed-redis/v1/clusters/{cluster['id']}/retention_policies"
    bad = server.rest("POST", base, json={"policyName": "p", "retainForDays": "3", "cron": {"dayOfMonth": "40"}})
    assert bad.status_code == 400
    assert (
        "retain_for_days: must be in 7-1095" in bad.json()["message"] and "cron.day_of_month" in bad.json()["message"]
    )
    created = run(
        server,
        "POST",
        base,
        {"policyName": "monthly", "retainForDays": "365", "description": "first of month", "cron": {"dayOfMonth": "1"}},
    )
    policy_id = created["metadata"]["policyId"]
    assert created["response"]["policyId"] == policy_id and created["response"]["cron"]["dayOfMonth"] == "1"
    got = server.rest("GET", f"{base}/{policy_id}").json()
    assert got["policyName"] == "monthly" and got["retainForDays"] == "365" and got["cron"]["month"] == "*"
    assert [p["policyId"] for p in server.rest("GET", base).json()["policies"]] == [policy_id]
    by_folder = server.rest("GET", f"/managed-redis/v1/folders/{FOLDER}/retention_policies").json()["policies"]
    assert policy_id in {p["policyId"] for p in by_folder}
    run(server, "DELETE", f"{base}/{policy_id}")
    assert server.rest("GET", f"{base}/{policy_id}").status_code == 404
    assert server.rest("GET", base).json().get("policies", []) == []
