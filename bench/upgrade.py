"""Version upgrade 7.0 -> 8.1-valkey of a 3-host Sentinel cluster under a writer: the longest
write gap, lost writes and the time per host, beside the floor measured in the same run (a
bare redis-server stopped with SHUTDOWN SAVE and started again on valkey-server, same data)."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bench.common import bare_redis_start_s, bench_server, figure, summary
from managed_redis.catalog.versions import discover
from tests.support.clusters import PASSWORD, client, create_cluster, hosts_of, master_of, run
from tests.support.server import RunningServer, wait_until
from tests.support.writer import Writer

# A network of its own: other benchmarks use bench/common.py's BENCH_NETWORK.
UPGRADE_NETWORK = "127.25.0.0/16"
FLOOR_ADDRESS = "127.25.255.1"
HOSTS = 3
KEYS = 20_000
ROUNDS = 3


def _wait_pong(address: str) -> None:
    # No retries: redis-py's default backoff would add to the time measured.
    probe = redis.Redis(host=address, socket_connect_timeout=0.05, retry=Retry(NoBackoff(), 0))
    while True:
        try:
            probe.ping()
            return
        except redis.ConnectionError:  # BusyLoadingError (loading its data) is one too
            time.sleep(0.001)


def bare_restart_s(old_binary: str, new_binary: str, keys: int) -> float:
    """The floor of one host's upgrade: a bare redis-server holding ``keys`` keys, from
    SHUTDOWN SAVE until the new binary, started on its data, answers PING."""
    with tempfile.TemporaryDirectory() as directory:
        args = ["--bind", FLOOR_ADDRESS, "--port", "6379", "--save", "", "--protected-mode", "no", "--dir", directory]
        process = subprocess.Popen([old_binary, *args], stdout=subprocess.DEVNULL)
        _wait_pong(FLOOR_ADDRESS)
        loader = redis.Redis(host=FLOOR_ADDRESS)
        for start in range(0, keys, 1000):
            loader.mset({f"k:{n}": n for n in range(start, min(start + 1000, keys))})
        started = time.monotonic()
        # A raw SHUTDOWN: redis-py would retry it with backoff once the server closes the link.
        with socket.create_connection((FLOOR_ADDRESS, 6379)) as raw:
            raw.sendall(b"SHUTDOWN SAVE\r\n")
            process.wait()
        process = subprocess.Popen([new_binary, *args], stdout=subprocess.DEVNULL)
        try:
            _wait_pong(FLOOR_ADDRESS)
            elapsed = time.monotonic() - started
            assert redis.Redis(host=FLOOR_ADDRESS).dbsize() == keys
            return elapsed
        finally:
            process.terminate()
            process.wait()


def upgrade_once(server: RunningServer, name: str) -> tuple[float, float, int]:
    """(operation time s, longest write gap s, acknowledged writes lost) of one upgrade."""
    body = {"version": "7.0", "resources": {"resourcePresetId": "hm1.nano"}, "redis": {"password": PASSWORD}}
    cluster_id = create_cluster(server, name, hosts=HOSTS, persistenceMode="ON", configSpec=body)["id"]
    master = client(master_of(server, cluster_id))
    for start in range(0, KEYS, 1000):
        master.mset({f"data:{n}": n for n in range(start, start + 1000)})
    sentinels = [(h["name"], 26379) for h in hosts_of(server, cluster_id)]
    writer = Writer.through_sentinel(sentinels, name, PASSWORD, prefix=f"{name}-w").start()
    try:
        wait_until(lambda: len(writer.acked) > 200)
        started = time.monotonic()
        run(
            server,
            "PATCH",
            f"/managed-redis/v1/clusters/{cluster_id}",
            {
                "updateMask": "configSpec.version",
                "configSpec": {"version": "8.1-valkey"},
            },
        )
        elapsed = time.monotonic() - started
        time.sleep(1.0)
    finally:
        writer.stop()
    lost = len(writer.lost(client(master_of(server, cluster_id))))
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")
    return elapsed, writer.max_gap_s(since=started), lost


def main() -> None:
    print(f"upgrade 7.0 -> 8.1-valkey, {HOSTS} hosts, {KEYS} keys, persistence on, writer through Sentinel", flush=True)
    versions = {version.id: version.binary for version in discover()}
    start_floor = [bare_redis_start_s(FLOOR_ADDRESS) for _ in range(ROUNDS)]
    restart_floor = [bare_restart_s(versions["7.0"], versions["8.1-valkey"], KEYS) for _ in range(ROUNDS)]
    figure("bare redis-server start -> PONG (floor)", summary(start_floor))
    figure("bare 7.0 SHUTDOWN SAVE -> valkey PONG (floor/host)", summary(restart_floor))
    times, gaps, lost = [], [], 0
    with bench_server(UPGRADE_NETWORK) as server:
        for round_number in range(ROUNDS):
            elapsed, gap, missing = upgrade_once(server, f"bench-upgrade-{round_number}")
            times.append(elapsed)
            gaps.append(gap)
            lost += missing
    figure("Update configSpec.version: total", summary(times))
    figure("Update configSpec.version: per host", summary([t / HOSTS for t in times]))
    figure("upgrade: longest write gap", summary(gaps), "under 1 s")
    figure("upgrade: acknowledged writes lost", str(lost), "0")
