"""A real operation that kills its control plane every time it runs gives up at its attempt
cap: it fails naming the cap, its cluster (still serving) is left RUNNING and free for the
next operation, and no data is touched."""

from __future__ import annotations

from pathlib import Path

from tests.support.clusters import client, create_cluster, hosts_of, master_of, run, wait_operation
from tests.support.processes import kill_all
from tests.support.server import host_network, running_server, wait_until

POINT = "failover.chosen"  # the failover's target is chosen; nothing switched yet
MAX_ATTEMPTS = 5  # operations/registry.py: every kind


def run_until_dead(data_dir: Path, env: dict[str, str]) -> str:
    """Start a control plane and wait for it to die; its log (it may die before it is ready)."""
    try:
        with running_server(data_dir, env=env) as server:
            wait_until(lambda: server.process.poll() is not None, timeout_s=60, message="the server did not die")
            return server.log()
    except RuntimeError as not_ready:
        return str(not_ready)


def test_an_operation_that_kills_every_worker_gives_up_and_leaves_the_cluster_running(tmp_path: Path) -> None:
    network = host_network()
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_SENTINEL_DOWN_AFTER_S": "2", "MREDIS_LEASE_S": "1"}
    armed = {**env, "MREDIS_FAILPOINTS": f"{POINT}=kill"}
    data_dir = tmp_path / "data"
    try:
        with running_server(data_dir, env=armed) as server:
            cluster_id = create_cluster(server, "gives-up", hosts=2)["id"]
            master = master_of(server, cluster_id)
            client(master).set("before", "kept")
            operation = server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", json={}).json()
            wait_until(lambda: server.process.poll() is not None, timeout_s=60, message="the server did not die")
        # Each restarted control plane claims the operation again and dies at the same point.
        for _ in range(MAX_ATTEMPTS - 1):
            assert f"failpoint {POINT} reached" in run_until_dead(data_dir, armed)
        with running_server(data_dir, env=armed) as last:
            done = wait_operation(last, operation, timeout_s=60)
            assert last.process.poll() is None, "the operation ran again past its cap"
            assert done["error"]["code"] == 10, done  # ABORTED
            assert f"gave up after {MAX_ATTEMPTS} attempts" in done["error"]["message"]
            cluster = last.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()
            assert cluster["status"] == "RUNNING"
            # Nothing switched, nothing lost, and the cluster takes the next change.
            assert master_of(last, cluster_id) == master and client(master).get("before") == "kept"
            changed = run(
                last,
                "PATCH",
                f"/managed-redis/v1/clusters/{cluster_id}",
                {"updateMask": "description", "description": "after giving up"},
            )
            assert changed["response"]["description"] == "after giving up"
            assert len(hosts_of(last, cluster_id)) == 2
    finally:
        kill_all(network)
