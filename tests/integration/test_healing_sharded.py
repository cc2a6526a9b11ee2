"""The supervisor heals a sharded cluster (Redis Cluster) when a master crashes or freezes,
with no acknowledged write lost: a shard of fewer than 3 masters fails over at once, a
master no replica may replace comes back, the other shards keep serving."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import redis
from redis.cluster import RedisCluster

from tests.support.cluster_clients import cluster_views, slot_ranges
from tests.support.clusters import (
    PASSWORD,
    admin_client,
    client,
    create_body,
    hosts_of,
    replicated,
    run,
    wait_alive,
)
from tests.support.processes import pid_of
from tests.support.server import RunningServer, wait_until

T = TypeVar("T")
KEYS = 3000


class ClusterWriter:
    """Writes ``cw:<n> = n`` through a RedisCluster client and records each acknowledged key.

    ``timeout_s`` is its socket timeout: a long one waits on a frozen master rather than
    giving up, as clients with no timeout do.
    """

    def __init__(self, host: str, timeout_s: float = 5) -> None:
        self.host = host
        self.client = RedisCluster(
            host=host, port=6379, password=PASSWORD, decode_responses=True, socket_timeout=timeout_s
        )
        self.acked: list[str] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            key = f"cw:{number}"
            try:
                self.client.set(key, number)
                self.acked.append(key)
                number += 1
            except Exception:  # whatever redis-py raises while a node goes away
                self.errors += 1
                time.sleep(0.05)
            time.sleep(0.002)

    def start(self) -> ClusterWriter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def lost(self, host: str) -> list[str]:
        """Acknowledged keys missing now, read by a new client from ``host``."""
        fresh = RedisCluster(host=host, port=6379, password=PASSWORD, decode_responses=True, socket_timeout=5)
        values = fresh.mget_nonatomic(self.acked)
        return [key for key, value in zip(self.acked, values, strict=True) if value != key.split(":")[1]]


class CreateShardedCluster(Protocol):
    """The ``clusters`` fixture: creates ``shards`` x ``per_shard`` hosts, returns the id."""

    def __call__(self, name: str, shards: int, per_shard: int, **extra: Any) -> str: ...


@pytest.fixture
def clusters(server: RunningServer) -> Iterator[CreateShardedCluster]:
    """Creates sharded clusters (``shards`` x ``per_shard`` hosts; returns the id) and deletes
    them after the test, so the module's server does not pile up processes."""
    created: list[str] = []

    def create(name: str, shards: int, per_shard: int, **extra: Any) -> str:
        body = create_body(name, hosts=shards * per_shard, sharded=True, **extra)
        for index, host in enumerate(body["hostSpecs"]):
            host["shardName"] = f"s{index // per_shard + 1}"
        cluster_id = str(run(server, "POST", "/managed-redis/v1/clusters", body)["response"]["id"])
        created.append(cluster_id)
        return cluster_id

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
        views = cluster_views(server)
        raise AssertionError(f"{message}\n--- server log ---\n{server.log()[-6000:]}\n--- views ---\n{views}") from None


def masters_by_shard(server: RunningServer, cluster_id: str) -> dict[str, str]:
    return {h["shardName"]: h["name"] for h in hosts_of(server, cluster_id) if h.get("role") == "MASTER"}


def roles(server: RunningServer, cluster_id: str) -> dict[str, str]:
    return {h["name"]: h.get("role", "") for h in hosts_of(server, cluster_id)}


def redis_pid(network: str, host: str) -> int | None:
    try:
        return pid_of(network, f"{host}:6379")
    except LookupError:
        return None


def follows(replica: str) -> str | None:
    """The master ``replica`` replicates from, as ROLE says (None if it is no replica)."""
    role = client(replica).execute_command("ROLE")
    return str(role[1]) if role[0] == "slave" else None


def every_node_ok(server: RunningServer, cluster_id: str) -> bool:
    """Every node says the cluster is ok and sees every slot served."""
    try:
        infos = [
            admin_client(server, h["name"]).execute_command("CLUSTER", "INFO") for h in hosts_of(server, cluster_id)
        ]
    except redis.RedisError:
        return False
    return all("cluster_state:ok" in info and "cluster_slots_ok:16384" in info for info in infos)


def owned_keys(any_host: str, master: str, count: int) -> list[str]:
    """``count`` keys whose slots ``master`` serves."""
    cluster = RedisCluster(host=any_host, port=6379, password=PASSWORD, decode_responses=True, socket_timeout=5)
    ranges = [(first, last) for (first, last), info in slot_ranges(cluster).items() if info["primary"][0] == master]
    keys: list[str] = []
    number = 0
    while len(keys) < count:
        key = f"own:{number}"
        if any(first <= cluster.keyslot(key) <= last for first, last in ranges):
            keys.append(key)
        number += 1
    return keys


def fill(any_host: str, prefix: str, count: int = KEYS) -> None:
    cluster = RedisCluster(host=any_host, port=6379, password=PASSWORD, decode_responses=True, socket_timeout=5)
    cluster.mset_nonatomic({f"{prefix}:{n}": n for n in range(count)})


def missing(any_host: str, prefix: str, count: int = KEYS) -> list[str]:
    cluster = RedisCluster(host=any_host, port=6379, password=PASSWORD, decode_responses=True, socket_timeout=5)
    keys = [f"{prefix}:{n}" for n in range(count)]
    values = cluster.mget_nonatomic(keys)
    return [key for key, value in zip(keys, values, strict=True) if value != key.split(":")[1]]


def all_replicated(server: RunningServer, cluster_id: str) -> None:
    """Every write so far is on every replica of each shard."""
    hosts = hosts_of(server, cluster_id)
    for shard, master in masters_by_shard(server, cluster_id).items():
        replicas = sum(1 for h in hosts if h["shardName"] == shard and h["name"] != master)
        replicated(client(master), replicas)


def node_files_back(server: RunningServer, host: str) -> bool:
    """redis.conf, nodes.conf and a whole AOF (its manifest and every file it names)."""
    directory = Path(server.data_dir) / "hosts" / host
    manifest = directory / "appendonlydir" / "appendonly.aof.manifest"
    if not all(path.exists() for path in (directory / "redis.conf", directory / "nodes.conf", manifest)):
        return False
    names = [line.split()[1] for line in manifest.read_text().splitlines() if line.startswith("file ")]
    return bool(names) and all((manifest.parent / name).exists() for name in names)


def known_nodes(server: RunningServer, host: str) -> int:
    info = admin_client(server, host).execute_command("CLUSTER", "INFO")
    return int(info.split("cluster_known_nodes:")[1].split()[0])


# -- a crashed master in a shard of fewer than 3 masters --------------------------------------


def test_one_shard_master_killed_a_replica_takes_over_then_start_failover_works(
    server: RunningServer, network: str, clusters: CreateShardedCluster
) -> None:
    cluster_id = clusters("one-shard-kill", shards=1, per_shard=3, persistenceMode="ON_REPLICAS")
    victim = masters_by_shard(server, cluster_id)["s1"]
    any_host = next(h for h in roles(server, cluster_id) if h != victim)
    fill(any_host, "before")
    all_replicated(server, cluster_id)
    writer = ClusterWriter(any_host).start()
    try:
        wait_for(server, lambda: len(writer.acked) > 200, message="the writer never got going")
        victim_pid = redis_pid(network, victim)
        assert victim_pid is not None
        os.kill(victim_pid, signal.SIGKILL)
        acked = len(writer.acked)
        wait_for(
            server,
            lambda: masters_by_shard(server, cluster_id).get("s1") not in (None, victim),
            message="no replica took over",
        )
        wait_for(server, lambda: len(writer.acked) > acked + 200, message="writes did not resume")
        new_master = masters_by_shard(server, cluster_id)["s1"]
        wait_alive(server, cluster_id, message="the cluster did not return to ALIVE after the takeover")
        assert roles(server, cluster_id)[victim] == "REPLICA" and follows(victim) == new_master
        # A planned failover works on the shard again, with the writer still going.
        run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:startFailover", {"hostNames": [new_master]})
        acked = len(writer.acked)
        wait_for(server, lambda: len(writer.acked) > acked + 200, message="writes stopped after StartFailover")
    finally:
        writer.stop()
    assert masters_by_shard(server, cluster_id)["s1"] not in (None, new_master)
    assert writer.lost(any_host) == []
    assert missing(any_host, "before") == []
    # Persistence ON_REPLICAS follows the roles: an AOF on replicas only.
    wait_for(
        server,
        lambda: (
            {h: admin_client(server, h).config_get("appendonly")["appendonly"] for h in roles(server, cluster_id)}
            == {h: "no" if role == "MASTER" else "yes" for h, role in roles(server, cluster_id).items()}
        ),
        message="appendonly does not follow the roles",
    )
    assert every_node_ok(server, cluster_id)


def test_three_shards_one_master_killed_the_other_shards_keep_serving(
    server: RunningServer, network: str, clusters: CreateShardedCluster
) -> None:
    cluster_id = clusters("three-shards-kill", shards=3, per_shard=2, persistenceMode="OFF")
    masters = masters_by_shard(server, cluster_id)
    victim = masters["s2"]
    fill(masters["s1"], "before")
    all_replicated(server, cluster_id)
    others = {masters[s]: owned_keys(masters["s1"], masters[s], 50) for s in ("s1", "s3")}
    victim_pid = redis_pid(network, victim)
    assert victim_pid is not None
    os.kill(victim_pid, signal.SIGKILL)
    failed: list[str] = []
    written = 0
    while masters_by_shard(server, cluster_id).get("s2") in (None, victim):
        for master, keys in others.items():  # each the other shards' own master, no redirection
            try:
                client(master).set(keys[written % len(keys)], written)
            except redis.RedisError as exc:
                failed.append(f"{master}: {exc}")
        written += 1
        assert written < 2000, f"shard s2 got no new master\n{server.log()[-6000:]}"
        time.sleep(0.02)
    assert failed == []
    assert masters_by_shard(server, cluster_id) == {**masters, "s2": masters_by_shard(server, cluster_id)["s2"]}
    wait_alive(server, cluster_id)
    wait_for(server, lambda: every_node_ok(server, cluster_id), message="the nodes do not agree on the slots")
    assert roles(server, cluster_id)[victim] == "REPLICA"
    assert follows(victim) == masters_by_shard(server, cluster_id)["s2"]
    assert missing(masters["s1"], "before") == []


# -- a crashed master that no replica may replace ---------------------------------------------


def test_one_shard_master_killed_with_priority_zero_replicas_comes_back_with_its_data(
    server: RunningServer, network: str, clusters: CreateShardedCluster
) -> None:
    cluster_id = clusters("one-shard-prio0", shards=1, per_shard=3)
    master = masters_by_shard(server, cluster_id)["s1"]
    replicas = [h for h in roles(server, cluster_id) if h != master]
    specs = [{"hostName": h, "replicaPriority": 0, "updateMask": "replicaPriority"} for h in replicas]
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}/hosts:batchUpdate", {"updateHostSpecs": specs})
    fill(master, "before")
    writer = ClusterWriter(master).start()
    old_pid = redis_pid(network, master)
    assert old_pid is not None
    try:
        wait_for(server, lambda: len(writer.acked) > 200, message="the writer never got going")
        os.kill(old_pid, signal.SIGKILL)
        acked = len(writer.acked)
        wait_for(
            server,
            lambda: redis_pid(network, master) not in (None, old_pid) and roles(server, cluster_id)[master] == "MASTER",
            message=f"{master} was not restarted as master",
        )
        wait_for(server, lambda: len(writer.acked) > acked + 200, message="writes did not resume")
    finally:
        writer.stop()
    wait_alive(server, cluster_id)
    assert roles(server, cluster_id) == {master: "MASTER", **{h: "REPLICA" for h in replicas}}
    assert writer.lost(master) == [] and missing(master, "before") == []
    # The replicas followed the restarted master rather than wiping it: they hold everything too.
    all_replicated(server, cluster_id)
    for replica in replicas:
        assert follows(replica) == master
        assert client(replica).dbsize() == client(master).dbsize() > KEYS


# -- a frozen master --------------------------------------------------------------------------


def test_frozen_master_of_one_shard_is_fenced_replaced_and_rejoins_as_replica(
    server: RunningServer, network: str, clusters: CreateShardedCluster
) -> None:
    cluster_id = clusters("three-shards-frozen", shards=3, per_shard=2)
    masters = masters_by_shard(server, cluster_id)
    victim = masters["s3"]
    writer = ClusterWriter(masters["s1"], timeout_s=30).start()
    pid = redis_pid(network, victim)
    assert pid is not None
    try:
        wait_for(server, lambda: len(writer.acked) > 300, message="the writer never got going")
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_for(
                server,
                lambda: masters_by_shard(server, cluster_id).get("s3") not in (None, victim),
                timeout_s=30,
                message=f"no replica took over while {victim} was frozen",
            )
            acked = len(writer.acked)
            wait_for(server, lambda: len(writer.acked) > acked + 200, message="writes did not resume")
            time.sleep(2)  # frozen for a while after the takeover too, as a long pause would be
        finally:
            os.kill(pid, signal.SIGCONT)
        wait_for(
            server,
            lambda: roles(server, cluster_id)[victim] == "REPLICA" and every_node_ok(server, cluster_id),
            message=f"{victim} did not rejoin as a replica",
        )
        wait_alive(server, cluster_id)
        acked = len(writer.acked)
        wait_for(server, lambda: len(writer.acked) > acked + 200, message="writes stopped")
    finally:
        writer.stop()
    after = masters_by_shard(server, cluster_id)
    assert after["s1"] == masters["s1"] and after["s2"] == masters["s2"] and after["s3"] != victim
    assert follows(victim) == after["s3"]
    assert writer.lost(masters["s1"]) == []


# -- files removed while the nodes serve ------------------------------------------------------


def test_node_directories_removed_files_come_back_and_the_nodes_restart_from_them(
    server: RunningServer, network: str, clusters: CreateShardedCluster
) -> None:
    """The directories of s1's master and of s2's replica go at once: both get their files
    back, then both are killed and start again from those files.

    (A node of Redis Cluster exits when it cannot save its nodes.conf, as on a change of the
    cluster's configuration before its files are back; then it is one that lost them: the
    next test.)
    """
    cluster_id = clusters("sharded-broken-dirs", shards=3, per_shard=2)
    masters = masters_by_shard(server, cluster_id)
    hosts = hosts_of(server, cluster_id)
    broken_master = masters["s1"]
    broken_replica = next(h["name"] for h in hosts if h["shardName"] == "s2" and h["name"] != masters["s2"])
    fill(masters["s2"], "before")
    all_replicated(server, cluster_id)
    broken = (broken_master, broken_replica)
    for host in broken:
        shutil.rmtree(Path(server.data_dir) / "hosts" / host)
    wait_for(
        server,
        lambda: all(node_files_back(server, host) for host in broken),
        message="the nodes' files did not come back",
    )
    wait_alive(server, cluster_id)

    fill(masters["s2"], "after", 300)  # after the files came back
    all_replicated(server, cluster_id)
    pids = {host: redis_pid(network, host) for host in broken}
    for pid in pids.values():
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
    wait_for(
        server,
        lambda: (
            all(redis_pid(network, host) not in (None, pid) for host, pid in pids.items())
            and roles(server, cluster_id).get(broken_master) == "REPLICA"
            and every_node_ok(server, cluster_id)
        ),
        message="the killed nodes did not come back from their restored files",
    )
    wait_alive(server, cluster_id)
    now = masters_by_shard(server, cluster_id)
    assert now["s2"] == masters["s2"] and now["s1"] != broken_master
    assert follows(broken_master) == now["s1"] and follows(broken_replica) == masters["s2"]
    assert missing(masters["s2"], "before") == [] and missing(masters["s2"], "after", 300) == []
    assert all(known_nodes(server, h["name"]) == len(hosts) for h in hosts)


def test_replica_that_lost_its_directory_and_its_process_rejoins_its_shard(
    server: RunningServer, network: str, clusters: CreateShardedCluster
) -> None:
    """A replica's directory goes and its process dies with it (a lost disk): it starts
    again as a new node, knowing no cluster, and must be taken back into its shard."""
    cluster_id = clusters("sharded-lost-disk", shards=3, per_shard=2)
    masters = masters_by_shard(server, cluster_id)
    hosts = hosts_of(server, cluster_id)
    replica = next(h["name"] for h in hosts if h["shardName"] == "s3" and h["name"] != masters["s3"])
    fill(masters["s1"], "before")
    all_replicated(server, cluster_id)
    pid = redis_pid(network, replica)
    assert pid is not None
    shutil.rmtree(Path(server.data_dir) / "hosts" / replica)
    os.kill(pid, signal.SIGKILL)
    wait_for(
        server,
        lambda: (
            redis_pid(network, replica) not in (None, pid)
            and roles(server, cluster_id).get(replica) == "REPLICA"
            and every_node_ok(server, cluster_id)
        ),
        message=f"{replica} did not rejoin its shard",
    )
    wait_alive(server, cluster_id)
    assert masters_by_shard(server, cluster_id) == masters
    assert follows(replica) == masters["s3"]
    assert all(known_nodes(server, h["name"]) == len(hosts) for h in hosts)  # no trace of the node it was
    all_replicated(server, cluster_id)
    assert client(replica).dbsize() == client(masters["s3"]).dbsize() > 0
    assert missing(masters["s1"], "before") == []
