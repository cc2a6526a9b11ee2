"""Logs through the API: ListLogs latency over a million lines, and the cost of many followers.

- **ListLogs**: a 3-host cluster whose ``redis.log`` files are given 1,000,000 lines in
  Redis's format between them (written before the cluster's own lines, spread over the last
  20 hours, each host's split at 16 MiB into ``redis.log.1`` and ``redis.log`` as rotation
  would), then pages of 1,000 records over REST: the first page, a page from a ``from_time``
  in the middle, the page after that page's token, and the newest page first (``order_by``
  DESC); p50/p99 over ``BENCH_LOG_REQUESTS`` requests each. The floor: ``tail -n 1000`` of
  one host's ``redis.log`` (one file, nothing merged, no JSON).
- **Followers**: 100 gRPC StreamLogs followers of the cluster (from now on: no replay) while
  one host's log grows by ~10 lines/s for ~10 s. The server's CPU (``/proc/<pid>/stat``) over
  that run, beside the same run with no follower, and beside 100 ``tail -F`` of the file (the
  floor: what the same fan-out costs a reader that only copies bytes); and how long a line took
  from its write to each follower.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub

from bench.common import figure
from bench.supervision import cpu_s
from tests.support.clusters import create_cluster, hosts_of
from tests.support.processes import kill_all
from tests.support.server import RunningServer, host_network, json_object, running_server

LINES = int(os.environ.get("BENCH_LOG_LINES", "1000000"))
REQUESTS = int(os.environ.get("BENCH_LOG_REQUESTS", "30"))
FOLLOWERS = int(os.environ.get("BENCH_LOG_FOLLOWERS", "100"))
SPAN_S = 20 * 3600
ROTATE_AT = 16 * 1024 * 1024
PAGE = 1000
FOLLOW_S, RATE = 10, 10
MESSAGES = (
    "100 changes in 300 seconds. Saving...",
    "Background saving started by pid 4242",
    "DB saved on disk",
    "Fork CoW for RDB: current 1 MB, peak 1 MB, average 1 MB",
    "Background saving terminated with success",
    "Connection with replica 127.29.0.2:6379 lost.",
    "Replica 127.29.0.2:6379 asks for synchronization",
    "Partial resynchronization request from 8a1f0c3e accepted. Sending 0 bytes of backlog.",
)


def percentiles_ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {ordered[len(ordered) // 2] * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms (n={len(ordered)})"


def redis_lines(count: int, first_s: float, span_s: float, pid: int) -> list[bytes]:
    """``count`` lines in Redis's format, timed evenly over ``span_s`` seconds from ``first_s``."""
    lines, step = [], span_s / count
    stamp_of: dict[int, str] = {}
    for n in range(count):
        when = first_s + n * step
        second = int(when)
        stamp = stamp_of.get(second)
        if stamp is None:
            stamp_of.clear()
            stamp = stamp_of[second] = dt.datetime.fromtimestamp(second).strftime("%d %b %Y %H:%M:%S")
        level = "#" if n % 97 == 0 else "*"
        lines.append(f"{pid}:M {stamp}.{int(when * 1000) % 1000:03d} {level} {MESSAGES[n % len(MESSAGES)]}\n".encode())
    return lines


def fill_logs(server: RunningServer, hosts: list[str], total: int) -> tuple[float, float]:
    """Put ``total`` lines (an equal share a host) before each host's own lines, the older part
    in ``redis.log.1``; the first and last time written (s since the epoch)."""
    first_s = time.time() - SPAN_S - 60
    for index, host in enumerate(hosts):
        directory = Path(server.data_dir) / "hosts" / host
        share = total // len(hosts) + (1 if index < total % len(hosts) else 0)
        lines = redis_lines(share, first_s + index * 0.0007, SPAN_S, 1000 + index)
        cut = len(lines)
        while sum(map(len, lines[:cut])) > ROTATE_AT:
            cut = cut * 3 // 4
        (directory / "redis.log.1").write_bytes(b"".join(lines[:cut]))
        live = directory / "redis.log"
        fresh = directory / "redis.log.bench"
        fresh.write_bytes(b"".join(lines[cut:]) + live.read_bytes())
        os.rename(fresh, live)  # Redis opens the file for each line: its next line lands here
    return first_s, first_s + SPAN_S


def list_logs_latency(server: RunningServer, cluster_id: str, middle_s: float, tail_of: Path) -> None:
    path = f"/managed-redis/v1/clusters/{cluster_id}:logs"
    middle = dt.datetime.fromtimestamp(middle_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    from_middle = json_object(server.rest("GET", path, params={"pageSize": PAGE, "fromTime": middle}))
    token = from_middle["nextPageToken"]
    asks = {
        "first page": {"pageSize": PAGE},
        "page from a from_time in the middle": {"pageSize": PAGE, "fromTime": middle},
        "page after a token (in the middle)": {"pageSize": PAGE, "pageToken": token},
        "newest page first (order_by DESC)": {"pageSize": PAGE, "orderBy": '[{"field":"TIMESTAMP","order":"DESC"}]'},
    }
    print(f"ListLogs: pages of {PAGE} records out of {LINES} lines on 3 hosts, over REST", flush=True)
    for name, params in asks.items():
        times = []
        for _ in range(REQUESTS):
            started = time.monotonic()
            reply = json_object(server.rest("GET", path, params=params))
            times.append(time.monotonic() - started)
            assert len(reply["logs"]) == PAGE, (name, len(reply["logs"]))
        figure(f"ListLogs, {name}", percentiles_ms(times), "p99 under 500 ms")
    times = []
    for _ in range(REQUESTS):
        started = time.monotonic()
        subprocess.run(["tail", "-n", str(PAGE), str(tail_of)], check=True, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - started)
    figure(f"floor: tail -n {PAGE} of one host's redis.log", percentiles_ms(times))


def follow(server: RunningServer, cluster_id: str, got: queue.Queue[tuple[str, float]], ready: threading.Event) -> None:
    """One follower from now on: puts (message, when received) for each record; ends with the server."""
    channel = grpc.secure_channel(server.grpc_addr, grpc.ssl_channel_credentials(server.ca_pem))
    stub = ClusterServiceStub(channel)
    request = cs.StreamClusterLogsRequest(cluster_id=cluster_id)
    request.from_time.GetCurrentTime()
    stream = stub.StreamLogs(request, metadata=[("authorization", f"Bearer {server.admin_token}")], timeout=600)
    ready.set()
    try:
        for item in stream:
            got.put((item.record.message.get("message", ""), time.monotonic()))
    except grpc.RpcError:
        pass  # cancelled at the end of the run
    finally:
        channel.close()


def grow(live: Path, seconds: int, rate: int, tag: str) -> dict[str, float]:
    """Append ``rate`` lines a second to ``live`` for ``seconds``; each line's text -> when written."""
    written = {}
    started = time.monotonic()
    for n in range(seconds * rate):
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
        text = f"bench {tag} line {n}"
        stamp = dt.datetime.now().strftime("%d %b %Y %H:%M:%S.%f")[:-3]
        with live.open("a") as handle:  # as Redis does: open, one write, close
            handle.write(f"4242:M {stamp} * {text}\n")
        written[text] = time.monotonic()
    return written


def measured(pids: Callable[[], list[int]], run: Callable[[], object]) -> float:
    before = sum(cpu_s(pid) for pid in pids())
    run()
    return sum(cpu_s(pid) for pid in pids()) - before


def fan_out(server: RunningServer, cluster_id: str, live: Path) -> None:
    print(
        f"StreamLogs: {FOLLOWERS} gRPC followers while one host's redis.log grows {RATE} lines/s for {FOLLOW_S} s",
        flush=True,
    )
    pid = server.process.pid
    alone = measured(lambda: [pid], lambda: grow(live, FOLLOW_S, RATE, "alone"))
    got: queue.Queue[tuple[str, float]] = queue.Queue()
    streams = []
    for _ in range(FOLLOWERS):
        ready = threading.Event()
        thread = threading.Thread(target=follow, args=(server, cluster_id, got, ready), daemon=True)
        thread.start()
        ready.wait(30)
        streams.append(thread)
    # Every follower past its start: each has the line written now.
    grow(live, 1, 1, "start")
    received: list[tuple[str, float]] = []
    started = time.monotonic()
    try:
        while len(received) < FOLLOWERS:
            received.append(got.get(timeout=300))
    finally:
        figure(
            f"{len(received)} of {FOLLOWERS} followers started (from now) in",
            f"{time.monotonic() - started:.1f} s (each finds now in the 1M lines)",
        )
    assert all(text == "bench start line 0" for text, _ in received), received[:3]
    written: dict[str, float] = {}
    followed = measured(lambda: [pid], lambda: written.update(grow(live, FOLLOW_S, RATE, "followed")))
    delays = []
    for _ in range(FOLLOWERS * len(written)):
        text, when = got.get(timeout=60)
        delays.append(when - written[text])
    figure("server CPU, no follower", f"{alone:.2f} s over {FOLLOW_S} s")
    figure(f"server CPU, {FOLLOWERS} followers", f"{followed:.2f} s over {FOLLOW_S} s")
    figure(
        f"added CPU of {FOLLOWERS} followers",
        f"{followed - alone:.2f} s ({100 * (followed - alone) / FOLLOW_S:.1f} % of a core)",
        "under 10 % of a core",
    )
    figure("a line's way from its write to each follower", percentiles_ms(delays), "under 1 s")
    tails = [
        subprocess.Popen(["tail", "-n", "0", "-F", str(live)], stdout=subprocess.DEVNULL) for _ in range(FOLLOWERS)
    ]
    time.sleep(1)
    tailing = measured(lambda: [t.pid for t in tails], lambda: grow(live, FOLLOW_S, RATE, "tailed"))
    for tail in tails:
        tail.terminate()
        tail.wait()
    figure(f"floor: CPU of {FOLLOWERS} tail -F of the file", f"{tailing:.2f} s over {FOLLOW_S} s")


@contextmanager
def logs_server() -> Iterator[RunningServer]:
    """A server on a loopback /24 of its own (``host_network``: other benchmarks and tests may
    run at once on ``bench_server``'s 127.29/16, and a server kills what it finds on its addresses)."""
    network = host_network()
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_HOST_LOG_PERIOD_S": "3600"}  # files stay as written
    with tempfile.TemporaryDirectory(prefix="mredis-bench-logs-") as data_dir:
        try:
            with running_server(Path(data_dir), env=env) as server:
                yield server
        finally:
            kill_all(network)


def main() -> None:
    with logs_server() as server:
        cluster = create_cluster(server, "bench-logs", hosts=3)
        hosts = sorted(h["name"] for h in hosts_of(server, cluster["id"]))
        started = time.monotonic()
        first_s, last_s = fill_logs(server, hosts, LINES)
        figure(f"wrote {LINES} lines into 3 hosts' logs in", f"{time.monotonic() - started:.1f} s")
        live = Path(server.data_dir) / "hosts" / hosts[0] / "redis.log"
        list_logs_latency(server, cluster["id"], (first_s + last_s) / 2, live)
        fan_out(server, cluster["id"], live)
