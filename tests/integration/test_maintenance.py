"""Planned maintenance with real processes: clusters are created on the machine's
redis-server (7.0.15), then the server restarts with a newer patch "installed" (a wrapper
that says 7.0.99 and runs the same redis-server, logging each start's pid). The server
plans a maintenance for each cluster's weekly window; a MaintenanceScheduler on a clock the
test drives, against the server's database, starts it in that window: every redis-server is
restarted onto the new binary, in the documented order, losing no acknowledged write."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from managed_redis.app import build_components
from managed_redis.operations.maintenance_scheduler import MaintenanceScheduler
from managed_redis.settings import load_settings
from tests.support.clusters import PASSWORD, client, create_cluster, hosts_of, wait_operation
from tests.support.moved_clock import MovedClock
from tests.support.patch_release import NEW, OLD, write_wrapper
from tests.support.processes import kill_all
from tests.support.server import RunningServer, host_network, json_object, running_server, wait_until
from tests.support.writer import Writer

SENTINEL_PORT = 26379


WINDOW_DAYS = {"mnt-plain": 2, "mnt-sharded": 3, "mnt-frozen": 4, "mnt-moved": 5}


def window_ahead(days: int) -> tuple[dict[str, Any], dt.datetime]:
    """A weekly window ``days`` (2-6) from now (API form) and its start: the first one past a
    day's notice. Each cluster here has its own day, so that moving the clock into one
    cluster's window starts no other cluster's maintenance."""
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    day = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"][start.weekday()]
    return {"weeklyMaintenanceWindow": {"day": day, "hour": str(start.hour + 1)}}, start


@dataclass
class World:
    server: RunningServer
    scheduler: MaintenanceScheduler
    clock: MovedClock
    log: Path
    first: dict[str, dt.datetime]  # name -> the start of its window
    clusters: dict[str, str]  # name -> id


def base_env(network: str) -> dict[str, str]:
    return {
        "MREDIS_HOST_NETWORK": network,
        "MREDIS_SENTINEL_DOWN_AFTER_S": "2",
        "MREDIS_DEFAULT_VERSION": "7.0",
        "MREDIS_MAINTENANCE_PERIOD_S": "86400",  # it passes at start (plans), then the test drives one
    }


def sharded_body(window: dict[str, Any]) -> dict[str, Any]:
    zones = ["ru-central1-a", "ru-central1-b", "ru-central1-d"]
    return {
        "sharded": True,
        "maintenanceWindow": window,
        "hostSpecs": [{"zoneId": zones[i % 3], "shardName": f"s{i // 2 + 1}"} for i in range(6)],
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    network = host_network()
    data_dir = tmp_path_factory.mktemp("maintenance")
    wrapper, log = write_wrapper(tmp_path_factory.mktemp("binaries"))
    windows = {name: window_ahead(days) for name, days in WINDOW_DAYS.items()}
    first = {name: start for name, (_, start) in windows.items()}
    env = base_env(network)
    try:
        with running_server(data_dir, env=env) as before:
            clusters = {
                name: create_cluster(before, name, hosts=hosts, maintenanceWindow=windows[name][0])["id"]
                for name, hosts in (("mnt-plain", 3), ("mnt-moved", 2), ("mnt-frozen", 2))
            }
            sharded = create_cluster(before, "mnt-sharded", **sharded_body(windows["mnt-sharded"][0]))
            clusters["mnt-sharded"] = sharded["id"]
            assert sharded["config"]["fullVersion"] == OLD
        with running_server(data_dir, env={**env, "MREDIS_REDIS_BINARIES": str(wrapper)}) as server:
            settings = load_settings(flags={"data_dir": str(data_dir)}, env={"MREDIS_REDIS_BINARIES": str(wrapper)})
            components = build_components(settings)
            clock = MovedClock(dt.datetime.now(dt.UTC))
            scheduler = MaintenanceScheduler(components.db, components.deps, components.queue, clock)
            yield World(server, scheduler, clock, log, first, clusters)
            components.db.dispose()
    finally:
        kill_all(network)


def cluster(world: World, name: str) -> dict[str, Any]:
    return json_object(world.server.rest("GET", f"/managed-redis/v1/clusters/{world.clusters[name]}"))


def maintenances(world: World, name: str) -> list[dict[str, Any]]:
    reply = json_object(world.server.rest("GET", f"/managed-redis/v1/maintenances?resourceId={world.clusters[name]}"))
    found: list[dict[str, Any]] = reply.get("maintenances", [])
    return found


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_ids(world: World, name: str) -> dict[str, str]:
    return {h["name"]: client(h["name"]).info("server")["run_id"] for h in hosts_of(world.server, world.clusters[name])}


def started_hosts(log: Path) -> list[str]:
    """The hosts whose redis-server the wrapper started, in order (Sentinels left out)."""
    names = []
    for line in log.read_text().splitlines() if log.exists() else []:
        match = re.search(r"/hosts/([^/]+)/redis\.conf", line)
        if match and "sentinel" not in line:
            names.append(match.group(1))
    return names


def run_in_window(world: World, name: str) -> None:
    world.clock.current = world.first[name] + dt.timedelta(minutes=1)
    started = world.scheduler.run_once()
    assert started, f"nothing started for {name}"
    for operation_id in started:
        done = wait_operation(world.server, {"id": operation_id}, timeout_s=180)
        assert "error" not in done, f"{done['error']}\n{world.server.log()[-6000:]}"


def test_planned_for_its_window_and_run_in_it_losing_nothing(world: World) -> None:
    got = cluster(world, "mnt-plain")
    assert got["config"]["fullVersion"] == OLD  # what runs, not what is installed
    first = world.first["mnt-plain"]
    assert got["plannedOperation"] == {"info": f"Update Redis {OLD} to {NEW}", "delayedUntil": stamp(first)}
    (planned,) = maintenances(world, "mnt-plain")
    assert planned["status"] == "SCHEDULED" and planned["userControllable"]

    world.clock.current = first - dt.timedelta(minutes=1)
    assert world.scheduler.run_once() == []  # nothing before the window
    cluster_id = world.clusters["mnt-plain"]
    hosts = [h["name"] for h in hosts_of(world.server, cluster_id)]
    before = run_ids(world, "mnt-plain")
    writer = Writer.through_sentinel([(h, SENTINEL_PORT) for h in hosts], "mnt-plain", PASSWORD).start()
    try:
        wait_until(lambda: len(writer.acked) > 100, message="the writer never got going")
        run_in_window(world, "mnt-plain")
        acked = len(writer.acked)
        wait_until(lambda: len(writer.acked) > acked + 50, message="writes did not go on after the maintenance")
    finally:
        writer.stop()
    after = run_ids(world, "mnt-plain")
    assert all(after[h] != before[h] for h in hosts), (before, after)
    master = next(h["name"] for h in hosts_of(world.server, cluster_id) if h.get("role") == "MASTER")
    assert writer.lost(client(master)) == []
    assert sorted(started_hosts(world.log)) == sorted(hosts)  # each once, through the new binary
    got = cluster(world, "mnt-plain")
    assert "plannedOperation" not in got and got["config"]["fullVersion"] == NEW
    (done,) = maintenances(world, "mnt-plain")
    assert done["status"] == "SUCCEEDED" and "succeededAt" in done


def reschedule(world: World, name: str, body: dict[str, Any]) -> Any:
    path = f"/managed-redis/v1/clusters/{world.clusters[name]}:rescheduleMaintenance"
    return world.server.rest("POST", path, json=body)


def test_reschedule_moves_it_and_immediate_runs_it(world: World) -> None:
    first = world.first["mnt-moved"]
    later = first + dt.timedelta(days=3)
    moved = reschedule(world, "mnt-moved", {"rescheduleType": "SPECIFIC_TIME", "delayedUntil": stamp(later)})
    assert moved.status_code == 200, moved.text
    done = wait_operation(world.server, json_object(moved))
    assert done["metadata"]["delayedUntil"] == stamp(later)
    assert done["response"]["plannedOperation"]["delayedUntil"] == stamp(later)
    too_late = stamp(first + dt.timedelta(days=15))
    refused = reschedule(world, "mnt-moved", {"rescheduleType": "SPECIFIC_TIME", "delayedUntil": too_late})
    assert refused.status_code == 400 and "delayed_until" in refused.json()["message"]
    back = reschedule(world, "mnt-moved", {"rescheduleType": "NEXT_AVAILABLE_WINDOW"})
    wait_operation(world.server, json_object(back))
    assert cluster(world, "mnt-moved")["plannedOperation"]["delayedUntil"] == stamp(first)

    before = run_ids(world, "mnt-moved")
    now = reschedule(world, "mnt-moved", {"rescheduleType": "IMMEDIATE"})
    wait_operation(world.server, json_object(now))
    wait_until(
        lambda: maintenances(world, "mnt-moved")[0]["status"] == "SUCCEEDED",
        timeout_s=120,
        message=f"the immediate maintenance did not finish: {maintenances(world, 'mnt-moved')}",
    )
    after = run_ids(world, "mnt-moved")
    assert all(after[h] != before[h] for h in before)
    assert "plannedOperation" not in cluster(world, "mnt-moved")
    nothing = reschedule(world, "mnt-moved", {"rescheduleType": "IMMEDIATE"})
    assert nothing.status_code == 400 and "no maintenance is planned" in nothing.json()["message"]


def test_sharded_cluster_is_done_shard_by_shard(world: World) -> None:
    cluster_id = world.clusters["mnt-sharded"]
    hosts = hosts_of(world.server, cluster_id)
    shard_of = {h["name"]: h["shardName"] for h in hosts}
    nodes = redis.RedisCluster(host=hosts[0]["name"], port=6379, password=PASSWORD, decode_responses=True)
    for index in range(300):
        nodes.set(f"key:{index}", index)
    already = len(started_hosts(world.log))
    run_in_window(world, "mnt-sharded")
    order = [shard_of[name] for name in started_hosts(world.log)[already:] if name in shard_of]
    assert order == sorted(order) and len(order) == 6, order  # s1's hosts, then s2's, then s3's
    nodes = redis.RedisCluster(host=hosts[0]["name"], port=6379, password=PASSWORD, decode_responses=True)
    assert [nodes.get(f"key:{index}") for index in range(300)] == [str(index) for index in range(300)]
    assert cluster(world, "mnt-sharded")["config"]["fullVersion"] == NEW
    nodes.close()


def test_a_change_freeze_postpones_it_past_its_end(world: World) -> None:
    cluster_id = world.clusters["mnt-frozen"]
    first = world.first["mnt-frozen"]
    end = first + dt.timedelta(hours=3)
    created = world.server.rest(
        "POST",
        "/managed-redis/v1/changeFreezes",
        json={"resourceId": cluster_id, "startAt": stamp(first - dt.timedelta(hours=1)), "endAt": stamp(end)},
    )
    assert created.status_code == 200, created.text
    freeze = wait_operation(world.server, json_object(created))
    assert "error" not in freeze, freeze
    before = run_ids(world, "mnt-frozen")
    world.clock.current = first + dt.timedelta(minutes=1)
    assert world.scheduler.run_once() == []
    (held,) = maintenances(world, "mnt-frozen")
    assert held["status"] == "SCHEDULED"
    assert held["startScheduledAt"] == stamp(first + dt.timedelta(days=7))  # the first window past the freeze
    assert {"key": "postponed_by_change_freeze", "value": freeze["response"]["id"]} in held["details"]
    assert cluster(world, "mnt-frozen")["plannedOperation"]["delayedUntil"] == held["startScheduledAt"]
    assert run_ids(world, "mnt-frozen") == before


def test_control_plane_killed_mid_maintenance_finishes_it_once(tmp_path: Path) -> None:
    network = host_network()
    data_dir = tmp_path / "data"
    wrapper, log = write_wrapper(tmp_path)
    window, first = window_ahead(2)
    env = {**base_env(network), "MREDIS_LEASE_S": "3"}
    binaries = {"MREDIS_REDIS_BINARIES": str(wrapper)}
    writer: Writer | None = None
    components = None
    try:
        with running_server(data_dir, env=env) as before:
            cluster_id = create_cluster(before, "mnt-killed", hosts=3, maintenanceWindow=window)["id"]
            hosts = [h["name"] for h in hosts_of(before, cluster_id)]
        with running_server(data_dir, env={**env, **binaries, "MREDIS_FAILPOINTS": "maintenance.step=kill"}) as doomed:
            components = build_components(load_settings(flags={"data_dir": str(data_dir)}, env=binaries))
            scheduler = MaintenanceScheduler(
                components.db, components.deps, components.queue, MovedClock(first + dt.timedelta(minutes=1))
            )
            writer = Writer.through_sentinel([(h, SENTINEL_PORT) for h in hosts], "mnt-killed", PASSWORD).start()
            wait_until(lambda: len(writer.acked) > 100, message="the writer never got going")
            (operation_id,) = scheduler.run_once()
            wait_until(lambda: doomed.process.poll() is not None, timeout_s=60, message="the server did not die")
            assert "failpoint maintenance.step reached" in doomed.log()
        assert len(started_hosts(log)) == 1  # one replica restarted before the kill

        with running_server(data_dir, env={**env, **binaries}) as again:
            done = wait_operation(again, {"id": operation_id}, timeout_s=180)
            assert "error" not in done, f"{done['error']}\n{again.log()[-6000:]}"
            assert sorted(started_hosts(log)) == sorted(hosts)  # each host restarted once, across both lives
            reply = json_object(again.rest("GET", f"/managed-redis/v1/maintenances?resourceId={cluster_id}"))
            assert [m["status"] for m in reply["maintenances"]] == ["SUCCEEDED"]
            assert scheduler.run_once() == []
            got = json_object(again.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}"))
            assert got["config"]["fullVersion"] == NEW and "plannedOperation" not in got
            acked = len(writer.acked)
            wait_until(lambda: len(writer.acked) > acked + 50, message="writes did not go on")
            writer.stop()
            master = next(h["name"] for h in hosts_of(again, cluster_id) if h.get("role") == "MASTER")
            assert writer.lost(client(master)) == []
    finally:
        if writer is not None:
            writer.stop()
        if components is not None:
            components.db.dispose()
        kill_all(network)
