"""A control plane killed while its supervisor heals a cluster (the cluster locked for healing
for up to ten minutes): the next one on the machine takes the supervisor's lease at once, ends
the dead one's healing lock, heals the cluster, and runs operations on it."""

from __future__ import annotations

import datetime as dt
import os
import signal
from pathlib import Path

from managed_redis.store import clusters as cluster_store
from managed_redis.store.database import Database
from tests.support.clusters import create_cluster, hosts_of, run, wait_alive
from tests.support.processes import kill_all, pid_of
from tests.support.server import host_network, running_server, wait_until


def test_a_supervisor_killed_while_healing_is_taken_over(tmp_path: Path) -> None:
    network = host_network()
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_SENTINEL_DOWN_AFTER_S": "2"}
    data_dir = tmp_path / "data"
    try:
        with running_server(data_dir, env={**env, "MREDIS_FAILPOINTS": "healing.acting=kill"}) as first:
            cluster = create_cluster(first, "healed-twice", hosts=1)
            address = f"{hosts_of(first, cluster['id'])[0]['name']}:6379"
            os.kill(pid_of(network, address), signal.SIGKILL)
            # Its supervisor locks the cluster for healing, then dies as it acts (the failpoint).
            wait_until(lambda: first.process.poll() is not None, timeout_s=60, message=first.log()[-3000:])
        db = Database(f"sqlite:///{data_dir / 'mredis.db'}")
        with db.read() as conn:
            record = cluster_store.get(conn, cluster["id"])
        db.dispose()
        assert record is not None and record.healing_until is not None
        assert record.healing_until > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

        with running_server(data_dir, env=env) as second:
            wait_alive(second, cluster["id"], timeout_s=60, message=second.log()[-3000:])
            body = {"updateMask": "description", "description": "after the takeover"}
            run(second, "PATCH", f"/managed-redis/v1/clusters/{cluster['id']}", body)
            assert f"healing of {cluster['id']} by" in second.log() and "ended: it is gone" in second.log()
    finally:
        kill_all(network)
