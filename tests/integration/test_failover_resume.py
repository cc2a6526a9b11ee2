"""StartFailover survives a SIGKILL of the control plane at each of its fail points: the
restarted server finishes the operation once, with one switch, losing no acknowledged write."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration.test_sharded import create_sharded, masters_by_shard
from tests.support.cluster_clients import CheckingWriter
from tests.support.clusters import PASSWORD, admin_client, client, create_cluster, hosts_of, wait_operation
from tests.support.processes import kill_all
from tests.support.server import RunningServer, host_network, json_object, running_server, wait_until
from tests.support.writer import Writer

SENTINEL_PORT = 26379
NON_SHARDED_POINTS = [
    "failover.chosen",  # target chosen and recorded, nothing switched
    "switchover.steered",  # the other replica's priority at 0, nothing paused
    "switchover.paused",  # old master under CLIENT PAUSE WRITE
    "switchover.promoted",  # Sentinel promoted the target; old master not yet REPLICAOF'd
    "failover.switched",  # switch done, not recorded
]


def base_env(network: str) -> dict[str, str]:
    return {"MREDIS_HOST_NETWORK": network, "MREDIS_SENTINEL_DOWN_AFTER_S": "2", "MREDIS_LEASE_S": "3"}


def start_and_die(server: RunningServer, path: str, body: dict[str, Any], point: str) -> dict[str, Any]:
    """POST the failover; return its operation once the server has killed itself at ``point``."""
    response = server.rest("POST", path, json=body)
    assert response.status_code == 200, response.text
    wait_until(
        lambda: server.process.poll() is not None,
        timeout_s=60,
        message=f"the server did not die at {point}:\n{server.log()[-4000:]}",
    )
    assert f"failpoint {point} reached" in server.log(), server.log()[-4000:]
    return json_object(response)


def finish(server: RunningServer, operation: dict[str, Any], data_dir: Path) -> None:
    """Wait for the resumed operation; insist it succeeded (with the logs if not)."""
    done = wait_operation(server, operation, timeout_s=90)
    assert "error" not in done, (
        f"{done['error']}\n--- server log ---\n{server.log()[-6000:]}\n{sentinel_logs(data_dir)}"
    )


def sentinel_logs(data_dir: Path) -> str:
    parts = []
    for path in sorted((data_dir / "hosts").glob("*/sentinel.log")):
        parts.append(f"--- {path.parent.name} ---\n" + "".join(path.read_text().splitlines(keepends=True)[-30:]))
    return "\n".join(parts)


def sentinel_master(host: str, name: str) -> dict[str, str]:
    """SENTINEL MASTER <name> as the default (public) user sees it."""
    sentinel = redis.Redis(host=host, port=SENTINEL_PORT, decode_responses=True, socket_timeout=5)
    reply = sentinel.execute_command("SENTINEL", "MASTER", name)
    if isinstance(reply, dict):
        return {str(k): str(v) for k, v in reply.items()}
    return {str(k): str(v) for k, v in zip(reply[::2], reply[1::2], strict=True)}


def sentinel_view(hosts: list[str], name: str) -> tuple[set[str], set[int]]:
    """(the masters the Sentinels name, their config-epochs)."""
    seen = [sentinel_master(host, name) for host in hosts]
    return {fields["ip"] for fields in seen}, {int(fields["config-epoch"]) for fields in seen}


def roles(server: RunningServer, hosts: list[str]) -> dict[str, str]:
    return {host: admin_client(server, host).execute_command("ROLE")[0] for host in hosts}


@pytest.mark.parametrize("point", NON_SHARDED_POINTS)
def test_failover_killed_midway_switches_once(tmp_path: Path, point: str) -> None:
    network = host_network()
    env = base_env(network)
    data_dir = tmp_path / "data"
    name = "resume-" + point.replace(".", "-")
    writer: Writer | None = None
    try:
        with running_server(data_dir, env={**env, "MREDIS_FAILPOINTS": f"{point}=kill"}) as first:
            cluster_id = create_cluster(first, name, hosts=3)["id"]
            hosts = [h["name"] for h in hosts_of(first, cluster_id)]
            named, epochs = sentinel_view(hosts, name)
            assert len(named) == 1 and len(epochs) == 1, (named, epochs)
            old_master, epoch_before = named.pop(), epochs.pop()
            writer = Writer.through_sentinel([(h, SENTINEL_PORT) for h in hosts], name, PASSWORD).start()
            wait_until(lambda: len(writer.acked) > 100, message="the writer never got going")
            operation = start_and_die(first, f"/managed-redis/v1/clusters/{cluster_id}:startFailover", {}, point)

        with running_server(data_dir, env=env) as second:
            finish(second, operation, data_dir)
            # The old master may still be demoting (Sentinel or the supervisor does it at
            # switchover.promoted); it is paused meanwhile, so it takes no write.
            wait_until(
                lambda: sorted(roles(second, hosts).values()) == ["master", "slave", "slave"],
                timeout_s=30,
                message=f"not exactly one master: {roles(second, hosts)}",
            )
            final = next(host for host, role in roles(second, hosts).items() if role == "master")
            assert final != old_master, f"the master ended where it started ({old_master}): switched twice or never"
            # One switch raises the Sentinels' config-epoch by exactly 1; a second, by 2.
            wait_until(
                lambda: sentinel_view(hosts, name) == ({final}, {epoch_before + 1}),
                timeout_s=15,
                message=f"Sentinels: {sentinel_view(hosts, name)}, expected ({final}, {epoch_before + 1})",
            )
            wait_until(lambda: writer.masters_seen[-1] == final and len(writer.acked) > 0, timeout_s=15)
            acked = len(writer.acked)
            wait_until(lambda: len(writer.acked) > acked + 50, message="writes did not resume on the new master")
            writer.stop()
            assert writer.lost(client(final)) == []

            def priorities() -> dict[str, str | None]:
                return {
                    host: admin_client(second, host).config_get("replica-priority")["replica-priority"]
                    for host in hosts
                    if host != final
                }

            # A replica the supervisor restarted starts at 0 and has its own back once in step.
            wait_until(
                lambda: "0" not in priorities().values(),
                timeout_s=30,
                message=f"a replica was left with priority 0: {priorities()}",
            )
    finally:
        if writer is not None:
            writer.stop()
        kill_all(network)


@pytest.mark.parametrize("point", ["failover.chosen", "failover.switched"])
def test_sharded_failover_killed_midway_switches_once(tmp_path: Path, point: str) -> None:
    network = host_network()
    env = base_env(network)
    data_dir = tmp_path / "data"
    writer: CheckingWriter | None = None
    try:
        with running_server(data_dir, env={**env, "MREDIS_FAILPOINTS": f"{point}=kill"}) as first:
            cluster_id = create_sharded(first, "resume-sharded", shards=3, per_shard=2)["id"]
            hosts = [h["name"] for h in hosts_of(first, cluster_id)]
            before = masters_by_shard(first, cluster_id)
            wait_until(lambda: len(current_epochs(first, hosts)) == 1, message="the nodes disagree on the epoch")
            (epoch_before,) = current_epochs(first, hosts)
            writer = CheckingWriter(hosts[0]).start()
            wait_until(lambda: len(writer.acked) > 200, message="the writer never got going")
            operation = start_and_die(
                first, f"/managed-redis/v1/clusters/{cluster_id}:startFailover", {"hostNames": [before["s2"]]}, point
            )

        with running_server(data_dir, env=env) as second:
            finish(second, operation, data_dir)
            after = masters_by_shard(second, cluster_id)
            # Two hosts a shard: a second switch would have put s2's master back where it was.
            assert after["s2"] != before["s2"] and after["s1"] == before["s1"] and after["s3"] == before["s3"]
            old, new = admin_client(second, before["s2"]), admin_client(second, after["s2"])
            new_id = new.execute_command("CLUSTER", "MYID")
            wait_until(
                lambda: old.execute_command("ROLE")[0] == "slave" and master_id_of(old) == new_id,
                message="the old master is not a replica of the new one",
            )
            # Each election raises the cluster's current epoch by one: one switch, one epoch.
            wait_until(lambda: len(current_epochs(second, hosts)) == 1, message="the nodes disagree on the epoch")
            epochs = current_epochs(second, hosts)
            assert epochs == {epoch_before + 1}, epochs
            time.sleep(0.5)
            writer.stop()
            assert writer.wrong == [] and writer.lost() == []
    finally:
        if writer is not None:
            writer.stop()
        kill_all(network)


def current_epochs(server: RunningServer, hosts: list[str]) -> set[int]:
    epochs = set()
    for host in hosts:
        info = admin_client(server, host).execute_command("CLUSTER", "INFO")
        if isinstance(info, dict):
            epochs.add(int(info["cluster_current_epoch"]))
        else:
            epochs.add(int(str(info).split("cluster_current_epoch:")[1].split()[0]))
    return epochs


def master_id_of(connection: redis.Redis) -> str:
    for line in connection.execute_command("CLUSTER", "NODES").splitlines():
        parts = line.split()
        if "myself" in parts[2]:
            node_id: str = parts[3]
            return node_id
    return ""
