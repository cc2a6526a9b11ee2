"""Slot moves of a sharded cluster with large keys of every type, under writers, over the API.

The "big key" threshold is lowered (``MREDIS_MIGRATE_BIG_KEY_MIB``) so that keys of a few
MiB take the path a key of gigabytes takes (moved alone, the nodes' timeout raised), and the
node timeout lowered so that one large sorted set's MIGRATE blocks its master longer than it:
without the raised timeout its replica would take over mid-move.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from managed_redis.engine.local import LocalEngine
from managed_redis.engine.model import Credentials, Node
from managed_redis.engine.slot_moves import MoveLimits, SlotMover
from tests.integration.test_sharded import all_ok, check_all, create_sharded, fill, masters_by_shard, slot_counts
from tests.support.cluster_clients import CheckingWriter, cluster_client
from tests.support.clusters import PASSWORD, admin_client, admin_password, hosts_of, replicated, run, wait_operation
from tests.support.processes import kill_all, pid_of
from tests.support.server import RunningServer, host_network, running_server, wait_until

NODE_TIMEOUT_MS = 1000
SMALL_KEYS = 5000
# (type, members): each key well over the 1 MiB "big" threshold set below.
BIG = {"string": 4 * 1024 * 1024, "hash": 60_000, "list": 60_000, "set": 60_000, "zset": 4_000_000, "stream": 30_000}


def env_for(network: str, **extra: str) -> dict[str, str]:
    return {
        "MREDIS_HOST_NETWORK": network,
        "MREDIS_CLUSTER_NODE_TIMEOUT_S": str(NODE_TIMEOUT_MS / 1000),
        "MREDIS_MIGRATE_BIG_KEY_MIB": os.environ.get("TEST_BIG_KEY_MIB", "1"),
        **extra,
    }


def add_shard(server: RunningServer, cluster_id: str, name: str = "s4") -> None:
    body = {"shardName": name, "hostSpecs": [{"zoneId": "ru-central1-a"}, {"zoneId": "ru-central1-b"}]}
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}/shards", body)


def tag_in(first: int, last: int, taken: set[int]) -> str:
    """A hash tag whose slot is in [first, last] and not in ``taken`` (which it joins)."""
    for number in range(1_000_000):
        slot = key_slot(f"t{number}".encode())
        if first <= slot <= last and slot not in taken:
            taken.add(slot)
            return f"t{number}"
    raise AssertionError("no tag found")


def load_big_keys(client: RedisCluster, first_slot: int, last_slot: int) -> dict[str, str]:
    """One key of each type in its own slot of [first_slot, last_slot]; type -> key name."""
    taken: set[int] = set()
    keys = {kind: f"{{{tag_in(first_slot, last_slot, taken)}}}:{kind}" for kind in BIG}
    node = client.get_node_from_key(keys["zset"])
    raw = redis.Redis(host=node.host, port=node.port, password=PASSWORD)
    for kind, key in keys.items():
        assert client.get_node_from_key(key).name == node.name, "the big keys should start on one shard"
        count, pipe = BIG[kind], raw.pipeline(transaction=False)
        if kind == "string":
            pipe.set(key, "x" * count)
        for start in range(0, count if kind != "string" else 0, 5000):
            chunk = [f"m{n:09d}" for n in range(start, min(count, start + 5000))]
            if kind == "hash":
                pipe.hset(key, mapping={member: 1 for member in chunk})
            elif kind == "list":
                pipe.rpush(key, *chunk)
            elif kind == "set":
                pipe.sadd(key, *chunk)
            elif kind == "zset":
                pipe.zadd(key, {member: n for n, member in enumerate(chunk)})
            else:
                for member in chunk:
                    pipe.xadd(key, {"m": member})
            if len(pipe) >= 200:
                pipe.execute()
        pipe.execute()
    return keys


class BigKeyWriter:
    """Writes into every big key in turn (APPEND, HSET, RPUSH, SADD, ZADD, XADD) and
    remembers each acknowledged write, to check that each is there afterwards."""

    def __init__(self, host: str, keys: dict[str, str]) -> None:
        self.client = cluster_client(host)
        self.keys = keys
        self.acked: list[tuple[str, int, str]] = []  # (type, number, stream id or '')
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _write(self, kind: str, number: int) -> str:
        key, member = self.keys[kind], f"w{number}"
        if kind == "string":
            self.client.append(key, f"|{number};")
        elif kind == "hash":
            self.client.hset(key, member, number)
        elif kind == "list":
            self.client.rpush(key, member)
        elif kind == "set":
            self.client.sadd(key, member)
        elif kind == "zset":
            self.client.zadd(key, {member: -number})
        else:
            return str(self.client.xadd(key, {"w": number}))
        return ""

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            for kind in self.keys:
                try:
                    self.acked.append((kind, number, self._write(kind, number)))
                except (redis.RedisError, RedisClusterException, AttributeError):  # as a node moves
                    self.errors += 1
                    time.sleep(0.05)
                number += 1
            time.sleep(0.005)

    def start(self) -> BigKeyWriter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def lost(self) -> list[tuple[str, int]]:
        """Acknowledged writes missing now, read by a new client."""
        client, keys = cluster_client(self.client.get_default_node().host), self.keys
        mine = {kind: [(n, sid) for k, n, sid in self.acked if k == kind] for kind in keys}
        text = client.get(keys["string"]) or ""
        missing = [("string", n) for n, _ in mine["string"] if f"|{n};" not in text]
        fields = client.hmget(keys["hash"], [f"w{n}" for n, _ in mine["hash"]])
        missing += [("hash", n) for (n, _), value in zip(mine["hash"], fields, strict=True) if value != str(n)]
        tail = set(client.lrange(keys["list"], BIG["list"], -1))
        missing += [("list", n) for n, _ in mine["list"] if f"w{n}" not in tail]
        found = client.smismember(keys["set"], [f"w{n}" for n, _ in mine["set"]])
        missing += [("set", n) for (n, _), there in zip(mine["set"], found, strict=True) if not there]
        scores = client.zmscore(keys["zset"], [f"w{n}" for n, _ in mine["zset"]])
        missing += [("zset", n) for (n, _), score in zip(mine["zset"], scores, strict=True) if score != -n]
        entries = client.xrange(keys["stream"], min=mine["stream"][0][1])
        assert entries is not None
        ids = {entry_id for entry_id, _ in entries}
        missing += [("stream", n) for n, sid in mine["stream"] if sid not in ids]
        return missing


def sizes(client: RedisCluster, keys: dict[str, str]) -> dict[str, int]:
    return {
        "string": client.strlen(keys["string"]),
        "hash": client.hlen(keys["hash"]),
        "list": client.llen(keys["list"]),
        "set": client.scard(keys["set"]),
        "zset": client.zcard(keys["zset"]),
        "stream": client.xlen(keys["stream"]),
    }


def disagreement(server: RunningServer, cluster_id: str) -> str:
    """'' when every node names the same master for every slot and none has a slot open;
    else what differs."""
    views, opened = {}, []
    for host in hosts_of(server, cluster_id):
        admin = admin_client(server, host["name"])
        slots = admin.execute_command("CLUSTER", "SLOTS")
        views[host["name"]] = sorted((entry[0], entry[1], entry[2][2]) for entry in slots)
        mine = next(line for line in admin.execute_command("CLUSTER", "NODES").splitlines() if "myself" in line)
        if "[" in mine:
            opened.append(f"{host['name']}: {mine.split(' ', 8)[8]}")
    different = {name for name, view in views.items() if view != next(iter(views.values()))}
    return ("; ".join(opened) + (f" views differ on {sorted(different)}" if different else "")).strip()


def config_values(server: RunningServer, cluster_id: str, name: str) -> set[str | None]:
    return {admin_client(server, h["name"]).config_get(name)[name] for h in hosts_of(server, cluster_id)}


def owner_shard(server: RunningServer, cluster_id: str, key: str) -> str:
    host = cluster_client(hosts_of(server, cluster_id)[0]["name"]).get_node_from_key(key).host
    shard: str = next(h["shardName"] for h in hosts_of(server, cluster_id) if h["name"] == host)
    return shard


def test_large_keys_of_every_type_move_under_writers_without_a_failover(tmp_path: Path) -> None:
    network = host_network()
    writers: list[Any] = []
    try:
        with running_server(tmp_path / "data", env=env_for(network)) as server:
            cluster_id = create_sharded(server, "big-keys", shards=3, per_shard=2)["id"]
            add_shard(server, cluster_id)
            masters = masters_by_shard(server, cluster_id)
            client = cluster_client(masters["s1"])
            # s1 holds 0-5460 and gives its highest slots to s4: the big keys live there.
            keys = load_big_keys(client, 4200, 5400)
            fill(client, SMALL_KEYS)
            before = sizes(client, keys)
            writers = [CheckingWriter(masters["s1"]).start(), BigKeyWriter(masters["s1"], keys).start()]
            wait_until(lambda: all(len(w.acked) > 100 for w in writers), message="the writers never got going")
            done = run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:rebalance")
            time.sleep(0.5)
            for writer in writers:
                writer.stop()
            assert done["response"]["status"] == "RUNNING" and done["response"]["health"] == "ALIVE"
            # No failover of our making: every shard's master is where it was.
            assert masters_by_shard(server, cluster_id) == masters
            counts = slot_counts(server, cluster_id)
            assert len(counts) == 4 and max(counts.values()) - min(counts.values()) <= 1
            assert {owner_shard(server, cluster_id, key) for key in keys.values()} == {"s4"}
            checking, big = writers
            assert checking.wrong == [] and checking.lost() == []
            assert big.lost() == []
            written = {kind: sum(1 for k, _, _ in big.acked if k == kind) for kind in keys}
            after = sizes(client, keys)
            assert {kind: after[kind] for kind in keys if kind != "string"} == {
                kind: before[kind] + written[kind] for kind in keys if kind != "string"
            }
            assert check_all(cluster_client(masters["s2"]), SMALL_KEYS) == []
            assert all_ok(server, cluster_id) and disagreement(server, cluster_id) == ""
            # What was raised for the big keys is back as configured.
            assert config_values(server, cluster_id, "cluster-node-timeout") == {str(NODE_TIMEOUT_MS)}
            assert config_values(server, cluster_id, "proto-max-bulk-len") == {str(512 * 1024 * 1024)}
    finally:
        for writer in writers:
            writer.stop()
        kill_all(network)


def test_a_key_too_large_to_move_in_time_keeps_its_slot_and_the_shares_stay_even(tmp_path: Path) -> None:
    """With ``max_block_s`` so low that the sorted set may not move, its slot stays on s1,
    which gives another slot instead; deleting s1 is refused, naming the key."""
    network = host_network()
    env = env_for(network, MREDIS_MIGRATE_MAX_BLOCK_S="0.5")
    try:
        with running_server(tmp_path / "data", env=env) as server:
            cluster_id = create_sharded(server, "too-big", shards=3, per_shard=1)["id"]
            add_shard(server, cluster_id)
            masters = masters_by_shard(server, cluster_id)
            client = cluster_client(masters["s1"])
            key = "{" + tag_in(5000, 5400, set()) + "}:huge"
            pipe = client.pipeline(transaction=False)
            for start in range(0, 400_000, 5000):
                pipe.zadd(key, {f"m{n:09d}": n for n in range(start, start + 5000)})
            pipe.execute()
            fill(client, SMALL_KEYS)
            run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:rebalance")
            counts = slot_counts(server, cluster_id)
            assert len(counts) == 4 and max(counts.values()) - min(counts.values()) <= 1
            assert owner_shard(server, cluster_id, key) == "s1" and client.zcard(key) == 400_000
            assert check_all(client, SMALL_KEYS) == [] and disagreement(server, cluster_id) == ""
            response = server.rest("DELETE", f"/managed-redis/v1/clusters/{cluster_id}/shards/s1")
            assert response.status_code == 200, response.text
            failed = wait_operation(server, response.json())
            assert failed["error"]["code"] == 9, failed  # FAILED_PRECONDITION
            assert "huge" in failed["error"]["message"] and "s1" in failed["error"]["message"]
            cluster = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()
            assert cluster["status"] == "RUNNING" and "s1" in {h["shardName"] for h in hosts_of(server, cluster_id)}
            assert owner_shard(server, cluster_id, key) == "s1" and client.zcard(key) == 400_000
            assert check_all(cluster_client(masters["s2"]), SMALL_KEYS) == []
            assert all_ok(server, cluster_id) and disagreement(server, cluster_id) == ""
    finally:
        kill_all(network)


@pytest.mark.parametrize(
    "point", ["slots.importing", "slots.migrating", "slots.keys_moved", "slots.stretched", "slots.target_assigned"]
)
def test_rebalance_killed_midway_is_settled_by_its_resumption(tmp_path: Path, point: str) -> None:
    """The control plane dies at ``point`` of a slot move; the restarted server resumes the
    Rebalance, which settles the half-moved slots first: every key reachable, the nodes
    agreeing, no acknowledged write lost, the node timeouts as configured."""
    network = host_network()
    env = env_for(network, MREDIS_LEASE_S="3")
    data_dir = tmp_path / "data"
    writer: CheckingWriter | None = None
    try:
        with running_server(data_dir, env={**env, "MREDIS_FAILPOINTS": f"{point}=kill"}) as first:
            cluster_id = create_sharded(first, "resume-move", shards=3, per_shard=1)["id"]
            add_shard(first, cluster_id)
            masters = masters_by_shard(first, cluster_id)
            client = cluster_client(masters["s1"])
            fill(client, SMALL_KEYS)
            big_key = "{" + tag_in(5000, 5400, set()) + "}:big"  # among the slots s1 gives s4
            client.set(big_key, "y" * (2 * 1024 * 1024))
            writer = CheckingWriter(masters["s1"]).start()
            wait_until(lambda: len(writer.acked) > 100, message="the writer never got going")
            response = first.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:rebalance")
            assert response.status_code == 200, response.text
            operation = response.json()
            wait_until(lambda: first.process.poll() is not None, timeout_s=120, message=first.log()[-3000:])
            assert f"failpoint {point} reached" in first.log()
        with running_server(data_dir, env=env) as second:
            done = run_resumed(second, operation)
            assert "error" not in done, f"{done['error']}\n{second.log()[-6000:]}"
            wait_until(lambda: disagreement(second, cluster_id) == "", timeout_s=30, message="the nodes disagree")
            writer.stop()
            counts = slot_counts(second, cluster_id)
            assert len(counts) == 4 and max(counts.values()) - min(counts.values()) <= 1
            logs = f"{first.log()[-8000:]}\n--- resumed by ---\n{second.log()[-8000:]}"
            assert writer.wrong == [] and writer.lost() == [], logs
            assert check_all(cluster_client(masters["s2"]), SMALL_KEYS) == [], logs
            assert cluster_client(masters["s2"]).strlen(big_key) == 2 * 1024 * 1024
            assert all_ok(second, cluster_id)
            assert config_values(second, cluster_id, "cluster-node-timeout") == {str(NODE_TIMEOUT_MS)}
    finally:
        if writer is not None:
            writer.stop()
        kill_all(network)


def slot_mover(server: RunningServer, cluster_id: str) -> tuple[SlotMover, dict[str, Node]]:
    """The engine's own slot mover over every node of the cluster (as an operation builds it),
    and each node by its address."""
    nodes = {
        host["name"]: Node(
            host["name"],
            host["name"],
            Path(server.data_dir) / "hosts" / host["name"],
            "redis-server",
            Credentials(PASSWORD, admin_password(server, host["name"])),
            cluster_mode=True,
        )
        for host in hosts_of(server, cluster_id)
    }
    return SlotMover(LocalEngine(), MoveLimits(), list(nodes.values())), nodes


def config_epoch(server: RunningServer, host: str) -> int:
    info = str(admin_client(server, host).execute_command("CLUSTER", "INFO"))
    return int(info.split("cluster_my_epoch:")[1].split()[0])


def test_a_move_right_after_the_source_s_epoch_rose_keeps_every_key(tmp_path: Path) -> None:
    """The source's config epoch raised just before a move (as a settle or a failover raises
    one), not yet gossiped to the target: the target outranks it before claiming the slots,
    so no view (its own replica's included) gives them back to the source, which would
    delete their keys on the target. Round after round, the source raised again each time."""
    network = host_network()
    try:
        with running_server(tmp_path / "data", env=env_for(network)) as server:
            cluster_id = create_sharded(server, "epochs", shards=3, per_shard=1)["id"]
            add_shard(server, cluster_id)
            masters = masters_by_shard(server, cluster_id)
            fill(cluster_client(masters["s1"]), SMALL_KEYS)
            mover, nodes = slot_mover(server, cluster_id)
            source, target = nodes[masters["s1"]], nodes[masters["s4"]]
            source_id, target_id = (
                admin_client(server, n.name).execute_command("CLUSTER", "MYID") for n in (source, target)
            )
            others = [nodes[masters["s2"]], nodes[masters["s3"]]]
            owned = {key_slot(f"k:{n}".encode()) for n in range(SMALL_KEYS)} & set(range(0, 5461))
            rounds = [sorted(owned)[start : start + 12] for start in range(0, 96, 12)]
            for slots in rounds:
                admin_client(server, source.name).execute_command("CLUSTER", "BUMPEPOCH")
                report = mover.move(source, source_id, target, target_id, others, slots)
                assert report.slots == slots and report.keys > 0
                mover.wait_agreed(set(slots))
                assert config_epoch(server, target.name) > config_epoch(server, source.name)
            wait_until(lambda: disagreement(server, cluster_id) == "", timeout_s=30, message="the nodes disagree")
            assert check_all(cluster_client(masters["s2"]), SMALL_KEYS) == []
            assert {
                owner_shard(server, cluster_id, f"k:{n}")
                for n in range(SMALL_KEYS)
                if key_slot(f"k:{n}".encode()) in set(rounds[-1])
            } == {"s4"}
    finally:
        kill_all(network)


def run_resumed(server: RunningServer, operation: dict[str, Any]) -> dict[str, Any]:
    return wait_operation(server, operation, timeout_s=180)


def half_move(server: RunningServer, source: str, target: str, keys: list[str]) -> int:
    """Leave the slot of ``keys`` half-moved from ``source`` to ``target`` (both masters), as
    a control plane dying mid-move does: IMPORTING, MIGRATING, half the keys moved. Returns
    the slot."""
    src, dst = admin_client(server, source), admin_client(server, target)
    slot = int(src.execute_command("CLUSTER", "KEYSLOT", keys[0]))
    dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src.execute_command("CLUSTER", "MYID"))
    src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst.execute_command("CLUSTER", "MYID"))
    password = admin_password(server, target)
    moved = keys[: len(keys) // 2]
    src.execute_command("MIGRATE", target, 6379, "", 0, 5000, "AUTH2", "mredis", password, "KEYS", *moved)
    replicated(dst, 1)  # its replica holds them too
    return slot


@pytest.mark.parametrize("target_fails_over", [False, True], ids=["target-stays", "target-fails-over"])
def test_a_slot_left_half_moved_is_shown_degraded_and_settled_by_the_supervisor(
    tmp_path: Path, target_fails_over: bool
) -> None:
    """No operation holds the cluster, yet a slot is half-moved (and, in the second case, the
    target's master died meanwhile: its replica took over without the IMPORTING state, which
    left the moved keys unreachable in the reported case). Health says DEGRADED; the
    supervisor moves the slot's keys forward to the target's shard and ends the move; every
    key is there, every node agrees, and a node timeout left raised is set back."""
    network = host_network()
    writer: CheckingWriter | None = None
    try:
        with running_server(tmp_path / "data", env=env_for(network)) as server:
            cluster_id = create_sharded(server, "half-moved", shards=3, per_shard=2)["id"]
            masters = masters_by_shard(server, cluster_id)
            client = cluster_client(masters["s1"])
            tag = tag_in(100, 5000, set())
            keys = [f"{{{tag}}}:{n}" for n in range(200)]
            for key in keys:
                client.set(key, key)
            big = f"{{{tag}}}:big"
            client.set(big, "z" * (3 * 1024 * 1024))  # past the 1 MiB "big" threshold
            writer = CheckingWriter(masters["s1"]).start()
            wait_until(lambda: len(writer.acked) > 100, message="the writer never got going")
            half_move(server, masters["s1"], masters["s2"], keys)
            admin_client(server, masters["s3"]).config_set("cluster-node-timeout", 30000)
            if target_fails_over:
                os.kill(pid_of(network, f"{masters['s2']}:6379"), signal.SIGKILL)
            wait_until(
                lambda: health(server, cluster_id) == "DEGRADED", timeout_s=30, message="health never said DEGRADED"
            )
            wait_until(
                lambda: health(server, cluster_id) == "ALIVE" and disagreement(server, cluster_id) == "",
                timeout_s=90,
                message=f"not settled: {disagreement(server, cluster_id)}\n{server.log()[-4000:]}",
            )
            time.sleep(0.5)
            writer.stop()
            reader = cluster_client(masters["s3"])
            assert reader.mget_nonatomic(keys) == keys
            assert reader.strlen(big) == 3 * 1024 * 1024
            assert owner_shard(server, cluster_id, keys[0]) == "s2"  # forward, where the move was going
            assert writer.wrong == [] and writer.lost() == []
            assert config_values(server, cluster_id, "cluster-node-timeout") == {str(NODE_TIMEOUT_MS)}
            assert all_ok(server, cluster_id)
            assert "give each such slot one owner" in server.log()
    finally:
        if writer is not None:
            writer.stop()
        kill_all(network)


def health(server: RunningServer, cluster_id: str) -> str:
    return str(server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json().get("health"))
