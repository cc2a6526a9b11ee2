"""The supervisor heals a non-sharded cluster from faults of its processes and files, and no
acknowledged write is lost: a crashed master no replica may replace, a frozen master, a
host whose directory is removed while it serves."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import redis
import redis.sentinel

from tests.support.clusters import (
    PASSWORD,
    client,
    create_cluster,
    hosts_of,
    master_of,
    replicated,
    run,
    sentinels_of,
    wait_alive,
)
from tests.support.processes import pid_of
from tests.support.server import RunningServer, wait_until
from tests.support.writer import Writer

T = TypeVar("T")
KEYS = 5000


class CreateCluster(Protocol):
    """The ``clusters`` fixture: creates a cluster of ``hosts`` hosts, returns its id."""

    def __call__(self, name: str, hosts: int, **extra: Any) -> str: ...


@pytest.fixture
def clusters(server: RunningServer) -> Iterator[CreateCluster]:
    """Creates clusters (returning their ids) and deletes them after the test, so the
    module's server does not pile up processes."""
    created: list[str] = []

    def create(name: str, hosts: int, **extra: Any) -> str:
        cluster_id = create_cluster(server, name, hosts=hosts, **extra)["id"]
        created.append(cluster_id)
        return str(cluster_id)

    yield create
    for cluster_id in created:
        with contextlib.suppress(Exception):  # a broken cluster goes with the module's processes
            run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


def wait_for(
    server: RunningServer, predicate: Callable[..., T], message: str, timeout_s: float = 60, **kwargs: Any
) -> T:
    """``wait_until``, failing with the end of the server's log as it is by then."""
    try:
        return wait_until(predicate, timeout_s=timeout_s, message=message, **kwargs)
    except AssertionError:
        raise AssertionError(f"{message}\n--- server log ---\n{server.log()[-6000:]}") from None


def host_dir(server: RunningServer, host: str) -> Path:
    return Path(server.data_dir) / "hosts" / host


def by_name(server: RunningServer, cluster_id: str) -> dict[str, dict[str, Any]]:
    return {h["name"]: h for h in hosts_of(server, cluster_id)}


def cluster_health(server: RunningServer, cluster_id: str) -> str:
    return str(server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()["health"])


def redis_pid(network: str, host: str) -> int | None:
    try:
        return pid_of(network, f"{host}:6379")
    except LookupError:
        return None


def follows(replica: str) -> str | None:
    """The master ``replica`` replicates from, as ROLE says (None if it is no replica)."""
    role = client(replica).execute_command("ROLE")
    return str(role[1]) if role[0] == "slave" else None


def forbid_promotion(server: RunningServer, cluster_id: str, replicas: list[str]) -> None:
    """UpdateHosts: replica_priority 0 on each of ``replicas``."""
    specs = [{"hostName": h, "replicaPriority": 0, "updateMask": "replicaPriority"} for h in replicas]
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchUpdate", {"updateHostSpecs": specs})


def fill(master: redis.Redis, prefix: str, count: int = KEYS) -> None:
    pipe = master.pipeline(transaction=False)
    for number in range(count):
        pipe.set(f"{prefix}:{number}", number)
    pipe.execute()


def missing(node: redis.Redis, prefix: str, count: int = KEYS) -> list[str]:
    keys = [f"{prefix}:{n}" for n in range(count)]
    values = node.mget(keys)
    return [key for key, value in zip(keys, values, strict=True) if value != key.split(":")[1]]


def files_back(directory: Path) -> bool:
    """Redis's and Sentinel's configs are there again, and a whole AOF."""
    return (directory / "redis.conf").exists() and (directory / "sentinel.conf").exists() and aof_whole(directory)


def aof_whole(directory: Path) -> bool:
    """The AOF manifest exists and every file it names is there: a restart can read it."""
    manifest = directory / "appendonlydir" / "appendonly.aof.manifest"
    if not manifest.exists():
        return False
    names = [line.split()[1] for line in manifest.read_text().splitlines() if line.startswith("file ")]
    return bool(names) and all((manifest.parent / name).exists() for name in names)


# -- a crashed master that no replica may replace --------------------------------------------


@pytest.mark.parametrize(
    ("hosts", "persistence"),
    [(1, "ON"), (2, "ON"), (3, "OFF"), (2, "ON_REPLICAS")],
    ids=["1-host-on", "2-hosts-on", "3-hosts-off", "2-hosts-on-replicas"],
)
def test_master_killed_with_no_promotable_replica_comes_back_with_its_data(
    server: RunningServer, network: str, clusters: CreateCluster, hosts: int, persistence: str
) -> None:
    name = f"prio0-{hosts}-{persistence.lower().replace('_', '')}"
    cluster_id = clusters(name, hosts, persistenceMode=persistence)
    master = master_of(server, cluster_id)
    replicas = [h for h in by_name(server, cluster_id) if h != master]
    if replicas:
        forbid_promotion(server, cluster_id, replicas)
    fill(client(master), "before")
    replicated(client(master), len(replicas))
    # With an AOF on the master, everything it acknowledged survives, even in the last moment.
    writer = None
    if persistence == "ON":
        writer = Writer.through_sentinel(sentinels_of(server, cluster_id), name, PASSWORD).start()
        wait_for(server, lambda: len(writer.acked) > 100, message="the writer never got going")
    old_pid = redis_pid(network, master)
    assert old_pid is not None
    try:
        os.kill(old_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for(
            server,
            lambda: (
                redis_pid(network, master) not in (None, old_pid)
                and by_name(server, cluster_id)[master].get("role") == "MASTER"
            ),
            timeout_s=60,
            message=f"{master} was not restarted as master",
        )
        if writer is not None:
            wait_for(
                server, lambda: writer.acked[-1][1] > killed_at + 0.5, timeout_s=30, message="writes did not resume"
            )
    finally:
        if writer is not None:
            writer.stop()
    wait_alive(server, cluster_id)
    roles = {h: v["role"] for h, v in by_name(server, cluster_id).items()}
    assert roles == {h: "MASTER" if h == master else "REPLICA" for h in roles}
    assert all(follows(replica) == master for replica in replicas)
    sentinel = redis.sentinel.Sentinel(sentinels_of(server, cluster_id), socket_timeout=1)
    assert sentinel.discover_master(name)[0] == master
    assert missing(client(master), "before") == []
    if writer is not None:
        assert writer.lost(client(master)) == []
    # The replicas were not wiped by a master that came back empty: they hold it all too.
    fill(client(master), "after", 100)
    replicated(client(master), len(replicas))
    for replica in replicas:
        assert missing(client(replica), "before") == [] and missing(client(replica), "after", 100) == []


# -- a frozen master -------------------------------------------------------------------------


@pytest.mark.parametrize(("hosts", "persistence"), [(3, "ON"), (2, "OFF")], ids=["3-hosts-on", "2-hosts-off"])
def test_frozen_master_is_fenced_replaced_and_rejoins_as_replica(
    server: RunningServer, network: str, clusters: CreateCluster, hosts: int, persistence: str
) -> None:
    name = f"frozen-{hosts}-{persistence.lower()}"
    cluster_id = clusters(name, hosts, persistenceMode=persistence)
    old_master = master_of(server, cluster_id)
    # A long socket timeout, as redis-py's default (none): a write sent to the frozen master
    # waits for it rather than giving up, and would be acknowledged if it ever answered.
    writer = Writer.through_sentinel(sentinels_of(server, cluster_id), name, PASSWORD, timeout_s=30).start()
    pid = redis_pid(network, old_master)
    assert pid is not None
    try:
        wait_for(server, lambda: len(writer.acked) > 200, message="the writer never got going")
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_for(
                server,
                lambda: (
                    [h for h, v in by_name(server, cluster_id).items() if v.get("role") == "MASTER"]
                    not in ([], [old_master])
                ),
                timeout_s=30,
                message=f"no replica was promoted while {old_master} was frozen",
            )
            new_master = master_of(server, cluster_id)
            acked = len(writer.acked)
            wait_for(server, lambda: len(writer.acked) > acked + 100, timeout_s=30, message="writes did not resume")
            time.sleep(2)  # frozen for a while after the promotion too, as a long pause would be
        finally:
            os.kill(pid, signal.SIGCONT)
        resumed_at = time.monotonic()
        wait_for(
            server,
            lambda: (
                by_name(server, cluster_id)[old_master].get("role") == "REPLICA"
                and cluster_health(server, cluster_id) == "ALIVE"
            ),
            timeout_s=60,
            message=f"{old_master} did not rejoin as a replica",
        )
        wait_for(server, lambda: writer.acked[-1][1] > resumed_at + 1, timeout_s=30, message="writes stopped")
    finally:
        writer.stop()
    assert master_of(server, cluster_id) == new_master != old_master
    assert follows(old_master) == new_master
    assert writer.lost(client(new_master)) == []
    assert writer.masters_seen[-1] == new_master
    last_key = writer.acked[-1][0]
    wait_for(server, lambda: client(old_master).get(last_key) is not None, message="the old master did not resync")
    assert writer.lost(client(old_master)) == []


# -- files removed while the hosts serve -----------------------------------------------------


def test_replica_directory_removed_and_another_replica_killed_both_heal(
    server: RunningServer, network: str, clusters: CreateCluster
) -> None:
    cluster_id = clusters("broken-replicas", 3)
    master = master_of(server, cluster_id)
    broken, killed = sorted(h for h in by_name(server, cluster_id) if h != master)
    fill(client(master), "before")
    replicated(client(master), 2)
    broken_pid, killed_pid = redis_pid(network, broken), redis_pid(network, killed)
    assert broken_pid is not None and killed_pid is not None

    shutil.rmtree(host_dir(server, broken))
    os.kill(killed_pid, signal.SIGKILL)
    seen: set[str] = set()

    def healed() -> bool:
        hosts = by_name(server, cluster_id)
        seen.add(hosts[broken]["health"])
        return (
            (host_dir(server, broken) / "redis.conf").exists()
            and hosts[broken]["health"] == "ALIVE"
            and hosts[killed]["health"] == "ALIVE"
            and redis_pid(network, killed) not in (None, killed_pid)
        )

    wait_for(server, healed, timeout_s=60, interval_s=0.05, message="the replicas did not heal")
    assert "DEGRADED" in seen and "DEAD" not in seen, seen
    assert redis_pid(network, broken) == broken_pid  # its files came back without a restart
    wait_for(server, lambda: files_back(host_dir(server, broken)), message="the replica's AOF did not come back")
    wait_alive(server, cluster_id)
    assert master_of(server, cluster_id) == master
    fill(client(master), "after", 100)
    replicated(client(master), 2)
    for replica in (broken, killed):
        assert by_name(server, cluster_id)[replica]["role"] == "REPLICA"
        assert missing(client(replica), "before") == [] and missing(client(replica), "after", 100) == []


def test_master_directory_removed_files_come_back_without_failover(
    server: RunningServer, network: str, clusters: CreateCluster
) -> None:
    cluster_id = clusters("broken-master", 3)
    master = master_of(server, cluster_id)
    writer = Writer.through_sentinel(sentinels_of(server, cluster_id), "broken-master", PASSWORD).start()
    pid = redis_pid(network, master)
    try:
        wait_for(server, lambda: len(writer.acked) > 100, message="the writer never got going")
        shutil.rmtree(host_dir(server, master))
        wait_for(
            server,
            lambda: files_back(host_dir(server, master)),
            timeout_s=60,
            message="the master's files did not come back",
        )
        wait_alive(server, cluster_id)
        acked = len(writer.acked)
        wait_for(server, lambda: len(writer.acked) > acked + 100, message="writes stopped")
    finally:
        writer.stop()
    assert master_of(server, cluster_id) == master and redis_pid(network, master) == pid
    assert writer.masters_seen == [master]  # no failover, not even for a moment
    assert writer.lost(client(master)) == []


def test_single_host_directory_removed_then_killed_comes_back_from_the_new_aof(
    server: RunningServer, network: str, clusters: CreateCluster
) -> None:
    cluster_id = clusters("broken-single", 1)
    master = master_of(server, cluster_id)
    fill(client(master), "before")
    shutil.rmtree(host_dir(server, master))
    wait_for(
        server,
        lambda: files_back(host_dir(server, master)),
        timeout_s=60,
        message="the files did not come back",
    )
    wait_alive(server, cluster_id)
    fill(client(master), "after", 100)  # only in the AOF written after the directory went
    pid = redis_pid(network, master)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(
        server,
        lambda: redis_pid(network, master) not in (None, pid),
        timeout_s=60,
        message="the master was not restarted",
    )
    wait_alive(server, cluster_id)
    assert master_of(server, cluster_id) == master
    assert missing(client(master), "before") == [] and missing(client(master), "after", 100) == []
