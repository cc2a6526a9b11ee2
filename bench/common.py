"""What the benchmarks share: a server of their own, timing helpers, figure printing."""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.support.processes import kill_all
from tests.support.server import RunningServer, running_server

BENCH_NETWORK = "127.29.0.0/16"


@contextmanager
def bench_server(network: str = BENCH_NETWORK, **env: str) -> Iterator[RunningServer]:
    """A server of the benchmark's own, its hosts on ``network`` (a benchmark that may run
    beside another takes a network of its own); every process there is killed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mredis-bench-") as data_dir:
        try:
            with running_server(Path(data_dir), env={"MREDIS_HOST_NETWORK": network, **env}) as server:
                yield server
        finally:
            kill_all(network)


def bare_redis_start_s(address: str = "127.28.0.1") -> float:
    """The floor: a bare redis-server from exec to its first PONG."""
    with tempfile.TemporaryDirectory() as directory:
        started = time.monotonic()
        process = subprocess.Popen(
            ["redis-server", "--bind", address, "--port", "6379", "--save", "", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(host=address, socket_connect_timeout=0.05)
        try:
            while True:
                try:
                    client.ping()
                    return time.monotonic() - started
                except redis.ConnectionError:
                    time.sleep(0.001)
        finally:
            process.terminate()
            process.wait()


def summary(values: list[float]) -> str:
    if not values:
        return "not measured"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"median {statistics.median(ordered):.3f} s, p95 {p95:.3f} s, "
        f"min {ordered[0]:.3f} s, max {ordered[-1]:.3f} s (n={len(ordered)})"
    )


def figure(name: str, value: str, target: str = "") -> None:
    print(f"  {name:<52} {value}" + (f"   [target: {target}]" if target else ""), flush=True)
