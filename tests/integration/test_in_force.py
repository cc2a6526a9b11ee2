"""An operation is done only when it is in force: once UpdateHosts has set replica_priority 0
on every replica, a master killed the very moment the operation is done is never replaced by
one of them; it comes back itself, from its AOF, with the data written before."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest
import redis

from tests.support.clusters import client, create_cluster, hosts_of, master_of, run, wait_alive
from tests.support.logs import log_on_failure
from tests.support.processes import pid_of
from tests.support.server import RunningServer, wait_until

KEYS = 2000
# After the cluster is ALIVE again, the replicas are watched this much longer: past Sentinel's
# down-after (2 s in these tests), when it would try a failover of its own.
WATCH_AFTER_ALIVE_S = 3.0


def sentinel_priorities(host: str, name: str) -> dict[str, int]:
    """replica address -> slave-priority, as the Sentinel on ``host`` reports them."""
    sentinel = redis.Redis(host=host, port=26379, decode_responses=True, socket_timeout=5)
    replies = sentinel.execute_command("SENTINEL", "REPLICAS", name)
    priorities = {}
    for reply in replies:
        fields = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2], strict=True))
        priorities[str(fields["ip"])] = int(fields["slave-priority"])
    return priorities


class RoleWatch:
    """Asks each replica for its role, over and over, and remembers any that said master."""

    def __init__(self, replicas: list[str]) -> None:
        self.clients = {name: client(name) for name in replicas}
        self.promoted: list[tuple[str, Any]] = []
        self.answers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, connection in self.clients.items():
                try:
                    role = connection.execute_command("ROLE")
                except redis.RedisError:
                    continue
                self.answers += 1
                if role[0] != "slave":
                    self.promoted.append((name, role))
            time.sleep(0.02)

    def __enter__(self) -> RoleWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.mark.parametrize("size", [3, 2])
def test_master_killed_right_after_replicas_are_excluded_comes_back_itself(
    server: RunningServer, network: str, size: int
) -> None:
    name = f"in-force-{size}"
    cluster_id = create_cluster(server, name, hosts=size)["id"]
    wait_alive(server, cluster_id)
    hosts = [host["name"] for host in hosts_of(server, cluster_id)]
    master = master_of(server, cluster_id)
    replicas = [host for host in hosts if host != master]
    client(master).mset({f"before:{n}": n for n in range(KEYS)})

    with log_on_failure(server):
        specs = [{"hostName": r, "replicaPriority": "0", "updateMask": "replicaPriority"} for r in replicas]
        watch = RoleWatch(replicas)
        with watch:
            run(
                server, "POST", f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchUpdate", {"updateHostSpecs": specs}
            )
            os.kill(pid_of(network, f"{master}:6379"), signal.SIGKILL)  # the moment it is done

            # Every Sentinel already had the new priorities (they pick whom to promote by them).
            for host in hosts:
                assert sentinel_priorities(host, name) == dict.fromkeys(replicas, 0), f"the Sentinel on {host}"

            def master_back() -> bool:
                try:
                    role: list[Any] = client(master).execute_command("ROLE")
                    return bool(role[0] == "master")
                except redis.RedisError:
                    return False

            wait_until(master_back, timeout_s=60, message=f"{master} did not come back")
            wait_alive(server, cluster_id, timeout_s=60)
            time.sleep(WATCH_AFTER_ALIVE_S)
        assert watch.answers > 0
        assert watch.promoted == [], f"a replica with priority 0 was promoted: {watch.promoted[:3]}"

        assert master_of(server, cluster_id) == master
        for host in hosts:
            named = redis.Redis(host=host, port=26379, decode_responses=True, socket_timeout=5)
            assert named.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)[0] == master, host
        values = client(master).mget([f"before:{n}" for n in range(KEYS)])
        assert values == [str(n) for n in range(KEYS)]
        for replica in replicas:
            wait_until(lambda r=replica: client(r).get(f"before:{KEYS - 1}") == str(KEYS - 1), message=f"{replica}")
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")
