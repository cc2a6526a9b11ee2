"""Create -> RUNNING for 1- and 3-host clusters, beside a bare redis-server start."""

from __future__ import annotations

import time

from bench.common import bare_redis_start_s, bench_server, figure, summary
from tests.support.clusters import create_body, wait_operation
from tests.support.server import RunningServer

ROUNDS = 5


def time_create(server: RunningServer, name: str, hosts: int) -> float:
    started = time.monotonic()
    response = server.rest("POST", "/managed-redis/v1/clusters", json=create_body(name, hosts))
    done = wait_operation(server, response.json())
    elapsed = time.monotonic() - started
    assert done["response"]["status"] == "RUNNING", done
    server.rest("DELETE", f"/managed-redis/v1/clusters/{done['response']['id']}")
    return elapsed


def main() -> None:
    print("create -> RUNNING (REST submit until the operation is done)", flush=True)
    floor = [bare_redis_start_s() for _ in range(ROUNDS)]
    figure("bare redis-server start -> PONG (floor)", summary(floor))
    with bench_server(MREDIS_WORKER_POLL_S="0.05") as server:
        for hosts, target in ((1, ""), (3, "3 hosts under 3 s")):
            times = [time_create(server, f"bench-create-{hosts}-{n}", hosts) for n in range(ROUNDS)]
            figure(f"{hosts}-host cluster with Sentinel", summary(times), target)
