"""Sharded clusters: create 3 shards x 2 hosts, and Rebalance speed, each beside its bare
counterpart measured in the same run (redis-cli --cluster create / rebalance)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from bench.backup import wait_pong
from bench.common import bench_server, figure, summary
from tests.support.clusters import create_body, hosts_of, run, wait_operation

ROUNDS = int(os.environ.get("BENCH_SHARD_ROUNDS", "3"))
KEYS = int(os.environ.get("BENCH_REBALANCE_KEYS", "300000"))
BARE_NETWORK = "127.27.0"


def sharded_body(name: str, shards: int, per_shard: int) -> dict[str, Any]:
    body = create_body(name, hosts=shards * per_shard, sharded=True)
    for index, host in enumerate(body["hostSpecs"]):
        host["shardName"] = f"s{index // per_shard + 1}"
    return body


@contextmanager
def bare_nodes(count: int) -> Iterator[list[str]]:
    """``count`` bare cluster-mode redis-servers, no password, on their own addresses."""
    workdir = Path(tempfile.mkdtemp(prefix="mredis-bench-cluster-"))
    processes: list[subprocess.Popen[bytes]] = []
    addresses: list[str] = []
    try:
        for index in range(1, count + 1):
            address = f"{BARE_NETWORK}.{index}"
            directory = workdir / address
            directory.mkdir()
            processes.append(
                subprocess.Popen(
                    [
                        "redis-server",
                        "--bind",
                        address,
                        "--bind-source-addr",
                        address,
                        "--port",
                        "6379",
                        "--save",
                        "",
                        "--dir",
                        str(directory),
                        "--cluster-enabled",
                        "yes",
                        "--cluster-announce-ip",
                        address,
                        "--cluster-node-timeout",
                        "5000",
                        "--repl-diskless-sync-delay",
                        "0",
                    ],
                    stdout=subprocess.DEVNULL,
                )
            )
            addresses.append(address)
        for address in addresses:
            wait_pong(redis.Redis(host=address))
        yield addresses
    finally:
        for process in processes:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def cluster_ok(addresses: list[str]) -> bool:
    return all(b"cluster_state:ok" in redis.Redis(host=a).execute_command("CLUSTER", "INFO") for a in addresses)


def bare_create_s() -> float:
    with bare_nodes(6) as addresses:
        started = time.monotonic()
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *[f"{a}:6379" for a in addresses],
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        while not cluster_ok(addresses):
            time.sleep(0.01)
        return time.monotonic() - started


def resp_sets(keys: int) -> bytes:
    return "".join(
        f"*3\r\n$3\r\nSET\r\n${len(f'key:{n}')}\r\nkey:{n}\r\n${len(str(n))}\r\n{n}\r\n" for n in range(keys)
    ).encode()


def fill_cluster(addresses: list[str], keys: int, password: str | None = None) -> None:
    """Write ``keys`` keys, each to the node owning its slot (redis-cli -c --pipe cannot follow MOVED)."""
    from redis.cluster import RedisCluster

    client = RedisCluster(host=addresses[0], port=6379, password=password)
    pipe = client.pipeline()
    for number in range(keys):
        pipe.set(f"key:{number}", number)
        if len(pipe) >= 5000:
            pipe.execute()
    pipe.execute()


def bare_rebalance_rate() -> tuple[float, int]:
    with bare_nodes(4) as addresses:
        subprocess.run(
            ["redis-cli", "--cluster", "create", *[f"{a}:6379" for a in addresses[:3]], "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        while not cluster_ok(addresses[:3]):
            time.sleep(0.05)
        fill_cluster(addresses[:3], KEYS)
        subprocess.run(
            ["redis-cli", "--cluster", "add-node", f"{addresses[3]}:6379", f"{addresses[0]}:6379"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        while not cluster_ok(addresses):
            time.sleep(0.05)
        started = time.monotonic()
        subprocess.run(
            ["redis-cli", "--cluster", "rebalance", f"{addresses[0]}:6379", "--cluster-use-empty-masters"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        elapsed = time.monotonic() - started
        moved = redis.Redis(host=addresses[3]).dbsize()
        return moved / elapsed, moved


def main() -> None:
    print("sharded clusters", flush=True)
    bare = [bare_create_s() for _ in range(ROUNDS)]
    figure("bare redis-cli --cluster create 3x2 -> ok (floor)", summary(bare))
    bare_rate, bare_moved = bare_rebalance_rate()
    with bench_server() as server:
        times = []
        for number in range(ROUNDS):
            started = time.monotonic()
            done = run(server, "POST", "/managed-redis/v1/clusters", sharded_body(f"bench-sharded-{number}", 3, 2))
            times.append(time.monotonic() - started)
            server.rest("DELETE", f"/managed-redis/v1/clusters/{done['response']['id']}")
        figure("Create 3 shards x 2 hosts -> RUNNING", summary(times), "under 5 s")

        cluster = run(server, "POST", "/managed-redis/v1/clusters", sharded_body("bench-rebalance", 3, 1))["response"]
        from tests.support.clusters import PASSWORD

        fill_cluster([h["name"] for h in hosts_of(server, cluster["id"])], KEYS, PASSWORD)
        run(
            server,
            "POST",
            f"/managed-redis/v1/clusters/{cluster['id']}/shards",
            {"shardName": "s4", "hostSpecs": [{"zoneId": "ru-central1-a"}]},
        )
        new_master = next(h["name"] for h in hosts_of(server, cluster["id"]) if h["shardName"] == "s4")
        started = time.monotonic()
        done = wait_operation(
            server, server.rest("POST", f"/managed-redis/v1/clusters/{cluster['id']}:rebalance").json()
        )
        elapsed = time.monotonic() - started
        assert "error" not in done, done
        moved = redis.Redis(host=new_master, password=PASSWORD).dbsize()
    figure("bare redis-cli --cluster rebalance", f"{bare_rate:,.0f} keys/s ({bare_moved} keys)")
    figure(
        "Rebalance (3 -> 4 shards)",
        f"{moved / elapsed:,.0f} keys/s ({moved} keys in {elapsed:.2f} s)",
        f"{moved / elapsed / bare_rate:.1f}x the bare rate",
    )
