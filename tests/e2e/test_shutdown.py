"""SIGTERM ends ``mredis serve`` within seconds whatever runs, even an operation stuck inside
a step; the next server on the same data dir finishes that operation, switching the master
once."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
import redis

from tests.support.clusters import create_cluster, hosts_of, master_of, wait_alive, wait_operation
from tests.support.logs import log_on_failure
from tests.support.processes import kill_all
from tests.support.server import host_network, running_server, wait_until

# A liveness bound, not a speed claim: serve leaves stuck threads behind within seconds.
EXIT_BOUND_S = 30


def test_sigterm_ends_serve_while_a_failover_hangs(tmp_path: Path) -> None:
    network = host_network()
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_SENTINEL_DOWN_AFTER_S": "2", "MREDIS_LEASE_S": "3"}
    data_dir = tmp_path / "data"
    try:
        with running_server(data_dir, env={**env, "MREDIS_FAILPOINTS": "failover.chosen=hang"}) as first:
            cluster_id = create_cluster(first, "shutdown-hang", hosts=3)["id"]
            wait_alive(first, cluster_id)
            old_master = master_of(first, cluster_id)
            submitted = first.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", json={})
            assert submitted.status_code == 200, submitted.text
            operation = submitted.json()
            with log_on_failure(first):
                wait_until(
                    lambda: "failpoint failover.chosen reached" in first.log(),
                    timeout_s=60,
                    message="StartFailover never reached its failpoint",
                )
                first.process.send_signal(signal.SIGTERM)
                try:
                    first.process.wait(timeout=EXIT_BOUND_S)
                except subprocess.TimeoutExpired:
                    pytest.fail(f"serve still runs {EXIT_BOUND_S} s after SIGTERM\n{first.log()[-8000:]}")
                assert first.process.returncode == 0
        # Nothing was switched yet: the Sentinels still name the old master.
        assert sentinel_master(old_master, "shutdown-hang") == old_master

        with running_server(data_dir, env=env) as second, log_on_failure(second):
            done = wait_operation(second, operation, timeout_s=120)
            assert "error" not in done, done["error"]
            new_master = master_of(second, cluster_id)
            assert new_master != old_master
            roles = {host["name"]: host["role"] for host in hosts_of(second, cluster_id)}
            assert roles[old_master] == "REPLICA" and roles[new_master] == "MASTER"
            wait_alive(second, cluster_id)
            # Each Sentinel saw the master change exactly once (the leader writes it down when
            # its failover ends, which may be a little after the operation is done).
            for host in roles:
                wait_until(lambda h=host: switches_seen(data_dir, h) >= 1, message=f"no switch on {host}'s Sentinel")
                assert switches_seen(data_dir, host) == 1, f"the Sentinel on {host} saw the master switch twice"
            assert master_of(second, cluster_id) == new_master
    finally:
        kill_all(network)


def switches_seen(data_dir: Path, host: str) -> int:
    return (data_dir / "hosts" / host / "sentinel.log").read_text().count("+switch-master")


def sentinel_master(host: str, name: str) -> str:
    sentinel = redis.Redis(host=host, port=26379, decode_responses=True, socket_timeout=5)
    return str(sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)[0])
