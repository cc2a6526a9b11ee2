"""Write gaps and lost writes: planned switchover (StartFailover) and automatic failover."""

from __future__ import annotations

import os
import signal
import time

from bench.common import BENCH_NETWORK, bench_server, figure, summary
from tests.support.clusters import PASSWORD, client, create_cluster, hosts_of, master_of, run
from tests.support.processes import pid_of
from tests.support.server import RunningServer, wait_until
from tests.support.writer import Writer

SWITCHOVER_ROUNDS = int(os.environ.get("BENCH_SWITCHOVER_ROUNDS", "5"))
FAILOVER_ROUNDS = int(os.environ.get("BENCH_FAILOVER_ROUNDS", "2"))
DOWN_AFTER_S = 5


def writer_for(server: RunningServer, cluster_id: str, name: str) -> Writer:
    sentinels = [(h["name"], 26379) for h in hosts_of(server, cluster_id)]
    writer = Writer.through_sentinel(sentinels, name, PASSWORD, prefix=f"bench{time.monotonic_ns()}").start()
    wait_until(lambda: len(writer.acked) > 200)
    return writer


def main() -> None:
    print(f"failover under a writer (SET every 5 ms through Sentinel, 250 ms timeout; down-after {DOWN_AFTER_S} s)")
    with bench_server(MREDIS_SENTINEL_DOWN_AFTER_S=str(DOWN_AFTER_S)) as server:
        cluster_id = create_cluster(server, "bench-failover", hosts=3)["id"]
        gaps, lost = [], 0
        for _ in range(SWITCHOVER_ROUNDS):
            writer = writer_for(server, cluster_id, "bench-failover")
            started = time.monotonic()
            run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", {})
            time.sleep(1.0)
            writer.stop()
            gaps.append(writer.max_gap_s(since=started - 0.1))
            lost += len(writer.lost(client(master_of(server, cluster_id))))
        figure("StartFailover: longest write gap", summary(gaps), "under 1 s")
        figure("StartFailover: acknowledged writes lost", str(lost), "0")

        gaps, lost = [], 0
        for _ in range(FAILOVER_ROUNDS):
            wait_until(
                lambda: server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()["health"] == "ALIVE",
                timeout_s=60,
            )
            writer = writer_for(server, cluster_id, "bench-failover")
            master = master_of(server, cluster_id)
            killed = time.monotonic()
            os.kill(pid_of(BENCH_NETWORK, f"{master}:6379"), signal.SIGKILL)
            wait_until(lambda w=writer, k=killed: w.acked[-1][1] > k + 1, timeout_s=60)
            writer.stop()
            gaps.append(writer.max_gap_s(since=killed - 0.1))
            lost += len(writer.lost(client(writer.masters_seen[-1])))
        figure("master SIGKILL -> writes resume: longest write gap", summary(gaps), "under 7 s")
        figure("master SIGKILL: acknowledged writes lost", str(lost), "(async replication; 0 expected here)")
