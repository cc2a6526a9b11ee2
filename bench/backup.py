"""Backup and restore of a ~1 GB dataset, beside bare BGSAVE + copy and bare RDB load.

Also the master's p99 GET latency while a backup runs (it is taken from a replica).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import redis

from bench.common import bench_server, figure
from tests.support.clusters import PASSWORD, create_body, create_cluster, hosts_of, master_of, run, wait_operation
from tests.support.server import RunningServer

KEYS = int(os.environ.get("BENCH_BACKUP_KEYS", "5400000"))  # ~1 GB of used_memory
BARE_ADDRESS = "127.28.0.2"


def resp_commands(keys: int) -> bytes:
    """SET commands in the Redis protocol, for redis-cli --pipe; 100-byte, half-random values."""
    pad = os.urandom(25).hex()  # 50 characters
    lines = []
    for number in range(keys):
        key = f"key:{number:08d}"
        value = f"{number:016d}{pad}{number * 7919 % 10**34:034d}"
        lines.append(f"*3\r\n$3\r\nSET\r\n${len(key)}\r\n{key}\r\n${len(value)}\r\n{value}\r\n")
    return "".join(lines).encode()


def pipe_in(host: str, password: str | None, payload: bytes) -> None:
    command = ["redis-cli", "-h", host, "--pipe"]
    if password:
        command[3:3] = ["--user", "default", "--pass", password, "--no-auth-warning"]
    subprocess.run(command, input=payload, check=True, stdout=subprocess.DEVNULL)


def wait_pong(client: redis.Redis) -> None:
    while True:
        try:
            client.ping()
            return
        except (redis.BusyLoadingError, redis.ConnectionError):
            time.sleep(0.005)


def bare_floor(payload: bytes, workdir: Path) -> tuple[float, float, float, float, int]:
    """(BGSAVE s, copy s, load s, place-and-load s, used_memory) on a bare redis-server."""
    data = workdir / "bare"
    data.mkdir()
    process = subprocess.Popen(
        ["redis-server", "--bind", BARE_ADDRESS, "--port", "6379", "--save", "", "--dir", str(data)],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(host=BARE_ADDRESS)
    try:
        wait_pong(client)
        pipe_in(BARE_ADDRESS, None, payload)
        used = int(client.info("memory")["used_memory"])
        started = time.monotonic()
        client.bgsave()
        while client.info("persistence")["rdb_bgsave_in_progress"] or not client.info("persistence")["rdb_saves"]:
            time.sleep(0.01)
        bgsave_s = time.monotonic() - started
        started = time.monotonic()
        shutil.copyfile(data / "dump.rdb", workdir / "copy.rdb")
        with open(workdir / "copy.rdb", "rb") as handle:
            os.fsync(handle.fileno())
        copy_s = time.monotonic() - started
    finally:
        process.terminate()
        process.wait()
    load_s = timed_load(data)
    # A bare restore: put the file in place (as a copy out of a store would), then load it.
    fresh = workdir / "fresh"
    fresh.mkdir()
    started = time.monotonic()
    shutil.copyfile(workdir / "copy.rdb", fresh / "dump.rdb")
    place_and_load_s = time.monotonic() - started + timed_load(fresh)
    return bgsave_s, copy_s, load_s, place_and_load_s, used


def timed_load(*directories: Path) -> float:
    """Bare redis-servers, one per directory, all started at once: until the last one PONGs."""
    addresses = [f"127.28.0.{2 + index}" for index in range(len(directories))]
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            ["redis-server", "--bind", address, "--port", "6379", "--save", "", "--dir", str(directory)],
            stdout=subprocess.DEVNULL,
        )
        for address, directory in zip(addresses, directories, strict=True)
    ]
    try:
        for address in addresses:
            wait_pong(redis.Redis(host=address))
        return time.monotonic() - started
    finally:
        for process in processes:
            process.terminate()
            process.wait()


class LatencySampler:
    """GETs against a host in a loop; p99 of the round trips in a time span."""

    def __init__(self, host: str) -> None:
        self.client = redis.Redis(host=host, password=PASSWORD)
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.client.get("key:00000001")
            self.samples.append((started, time.monotonic() - started))
            time.sleep(0.001)

    def start(self) -> LatencySampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def p99_ms(self, start: float, end: float) -> float:
        values = sorted(d for t, d in self.samples if start <= t <= end)
        return values[int(len(values) * 0.99)] * 1000 if values else float("nan")


def quiet(server: RunningServer, cluster_id: str) -> None:
    """Wait until no host of the cluster is rewriting its AOF or saving, so timings compare."""
    from tests.support.clusters import admin_client

    for host in hosts_of(server, cluster_id):
        admin = admin_client(server, host["name"])
        while True:
            info = admin.info("persistence")
            if not (info["aof_rewrite_in_progress"] or info["rdb_bgsave_in_progress"] or info["aof_rewrite_scheduled"]):
                break
            time.sleep(0.2)


def main() -> None:
    print(f"backup and restore of {KEYS} keys (~100-byte values)", flush=True)
    payload = resp_commands(KEYS)
    with tempfile.TemporaryDirectory(prefix="mredis-bench-bare-") as workdir:
        bgsave_s, copy_s, load_s, place_and_load_s, used = bare_floor(payload, Path(workdir))
    figure("dataset (bare redis-server used_memory)", f"{used / 2**30:.2f} GiB")
    figure("bare BGSAVE + copy (floor)", f"{bgsave_s + copy_s:.2f} s ({bgsave_s:.2f} + {copy_s:.2f})")
    figure("bare RDB load to PONG (floor)", f"{load_s:.2f} s")
    figure("bare copy of the RDB into place + load", f"{place_and_load_s:.2f} s")
    with bench_server() as server:
        cluster_id = create_cluster(server, "bench-backup", hosts=2)["id"]
        master = master_of(server, cluster_id)
        pipe_in(master, PASSWORD, payload)
        replica = next(h["name"] for h in hosts_of(server, cluster_id) if h["name"] != master)
        while redis.Redis(host=replica, password=PASSWORD).dbsize() < KEYS:
            time.sleep(0.2)
        quiet(server, cluster_id)
        sampler = LatencySampler(master).start()
        time.sleep(5)
        started = time.monotonic()
        run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:backup")
        backup_s = time.monotonic() - started
        sampler.stop()
        figure("Backup -> operation done", f"{backup_s:.2f} s = {backup_s / (bgsave_s + copy_s):.2f}x floor", "<= 1.2x")
        figure("master GET p99 before the backup", f"{sampler.p99_ms(started - 5, started):.2f} ms")
        figure("master GET p99 during the backup", f"{sampler.p99_ms(started, started + backup_s):.2f} ms")
        backup = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}/backups").json()["backups"][0]
        quiet(server, cluster_id)
        # The floor again, now that a server and a cluster holding the data share the machine;
        # and three bare loads at once, what a 3-host restore asks of these cores.
        with tempfile.TemporaryDirectory(prefix="mredis-bench-bare-") as workdir:
            directories = [Path(workdir) / str(index) for index in range(3)]
            for directory in directories:
                directory.mkdir()
                shutil.copyfile(backup_rdb(server, cluster_id), directory / "dump.rdb")
            load_again_s = timed_load(directories[0])
            load_three_s = timed_load(*directories)
        restores = {hosts: timed_restore(server, backup["id"], hosts) for hosts in (1, 3)}
    figure("bare RDB load to PONG, again beside the cluster", f"{load_again_s:.2f} s")
    figure("bare RDB load, 3 servers at once, beside the cluster", f"{load_three_s:.2f} s")
    figure(
        "Restore (1 host) -> RUNNING",
        f"{restores[1]:.2f} s = {restores[1] / load_s:.2f}x bare load "
        f"({restores[1] / load_again_s:.2f}x beside the cluster), {restores[1] / place_and_load_s:.2f}x copy + load",
        "<= 1.2x bare load",
    )
    figure(
        "Restore (3 hosts) -> RUNNING",
        f"{restores[3]:.2f} s = {restores[3] / load_three_s:.2f}x 3 bare loads at once",
        "<= 1.2x",
    )


def timed_restore(server: RunningServer, backup_id: str, hosts: int) -> float:
    body = create_body(f"bench-restored-{hosts}", hosts=hosts)
    body.pop("folderId")
    body["backupId"] = backup_id
    started = time.monotonic()
    done = wait_operation(server, server.rest("POST", "/managed-redis/v1/clusters:restore", json=body).json(), 1800)
    restore_s = time.monotonic() - started
    assert "error" not in done, done
    quiet(server, done["response"]["id"])  # its AOF rewrites are done before the next timing
    return restore_s


def backup_rdb(server: RunningServer, cluster_id: str) -> Path:
    """The RDB the backup was taken from, still in the replica's directory."""
    replica: str = next(h["name"] for h in hosts_of(server, cluster_id) if h["role"] == "REPLICA")
    return server.data_dir / "hosts" / replica / "dump.rdb"
