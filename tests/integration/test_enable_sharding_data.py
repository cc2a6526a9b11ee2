"""EnableSharding keeps every db0 key when other databases were used and emptied since.

A Redis that replays its AOF in cluster mode reads ``SELECT 5`` as an error and applies what
followed to db0: db5's writes, and the FLUSHDB / DEL / expiry that emptied db5, land on db0.
Each host must come up from a fresh snapshot instead. Checked on every node afterwards, with
persistence on (AOF) and off, one and two hosts, db5 keys named like db0's or not; with a
writer running through the switch; and with the control plane killed midway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.clusters import (
    PASSWORD,
    admin_client,
    client,
    create_body,
    hosts_of,
    master_of,
    run,
    wait_alive,
    wait_operation,
)
from tests.support.processes import kill_all
from tests.support.server import RunningServer, host_network, running_server, wait_until
from tests.support.versions import requires_tls
from tests.support.writer import Writer

DB0_KEYS = 300
DB5_KEYS = 100


def data_client(host: str, port: int = 6379, **kwargs: Any) -> redis.Redis:
    """The customer's client of ``host``; TLS clusters answer on 6380 only."""
    return redis.Redis(host=host, port=port, password=PASSWORD, decode_responses=True, socket_timeout=5, **kwargs)


def db0_data() -> dict[str, str]:
    return {f"k:{number}": f"db0-{number}" for number in range(DB0_KEYS)}


def db5_names(same: bool) -> list[str]:
    """db5's keys: the very names db0 uses (``same``), or names of its own."""
    return [f"k:{number}" if same else f"d5:{number}" for number in range(DB5_KEYS)]


def use_and_empty_db5(master: str, same: bool, cleanup: str, **tls: Any) -> None:
    """Write db5's keys on ``master``, then empty db5 by ``cleanup``: flushdb, del, expire.
    ``tls``: the client's TLS settings, for a cluster that speaks TLS only."""
    db5 = data_client(master, db=5, **tls)
    names = db5_names(same)
    if cleanup == "expire":
        for name in names:
            db5.set(name, f"db5-{name}", px=300)
        wait_until(lambda: db5.exists(*names) == 0, timeout_s=10, message="db5's keys did not expire")
    else:
        for name in names:
            db5.set(name, f"db5-{name}")
        db5.append(names[0], "-more")  # a write of another kind, to be replayed too
        if cleanup == "flushdb":
            db5.flushdb()
        else:
            db5.delete(*names)
    assert db5.exists(*names) == 0


def fill_db0(master: str, **tls: Any) -> None:
    plain = data_client(master, **tls)
    plain.mset(db0_data())
    plain.hset("h:db0", mapping={"field": "value"})


def node_data(host: str, **tls: Any) -> dict[str, Any]:
    """What a node holds in db0 (READONLY: a cluster replica answers reads of its master's slots)."""
    reader = data_client(host, **tls)
    if reader.info("cluster").get("cluster_enabled"):
        reader.execute_command("READONLY")
    names = list(db0_data())
    pipe = reader.pipeline(transaction=False)  # GETs one by one: MGET needs keys of one slot
    for name in names:
        pipe.get(name)
    return {
        "size": reader.dbsize(),
        "values": dict(zip(names, pipe.execute(), strict=True)),
        "hash": reader.hgetall("h:db0"),
    }


def missing(reader: redis.Redis, keys: list[str]) -> list[str]:
    """The ``keys`` ``reader``'s node does not hold."""
    pipe = reader.pipeline(transaction=False)
    for key in keys:
        pipe.exists(key)
    return [key for key, found in zip(keys, pipe.execute(), strict=True) if not found]


def expected_data() -> dict[str, Any]:
    return {"size": DB0_KEYS + 1, "values": db0_data(), "hash": {"field": "value"}}


def assert_every_node_has_db0(server: RunningServer, cluster_id: str, others: bool = False, **tls: Any) -> None:
    """Every node holds db0's keys and values, and (unless ``others`` were written) no other key."""

    def holds(host: str) -> bool:
        data, expected = node_data(host, **tls), expected_data()
        if others:
            data["size"] = expected["size"] if data["size"] >= expected["size"] else data["size"]
        return data == expected

    for host in [h["name"] for h in hosts_of(server, cluster_id)]:
        wait_until(
            lambda host=host: holds(host),
            timeout_s=30,
            message=f"{host} lacks db0's keys: {sorted(node_data(host, **tls)['values'].items())[:5]}",
        )


def enable_sharding(server: RunningServer, cluster_id: str) -> dict[str, Any]:
    done = run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:enable_sharding")
    assert done["response"]["sharded"] is True
    return done


CASES = [
    # (cleanup, persistence, same names in db5, hosts)
    ("flushdb", "ON", False, 2),
    ("flushdb", "ON", True, 1),
    ("flushdb", "OFF", True, 2),
    ("del", "ON", True, 2),
    ("del", "OFF", False, 1),
    ("expire", "ON", True, 2),
    ("expire", "OFF", False, 1),
]


@pytest.mark.parametrize(("cleanup", "persistence", "same", "hosts"), CASES)
def test_db0_survives_enable_sharding_after_db5_was_emptied(
    server: RunningServer, cleanup: str, persistence: str, same: bool, hosts: int
) -> None:
    name = f"es-{cleanup}-{persistence.lower()}-{'same' if same else 'own'}-{hosts}"
    body = create_body(name, hosts=hosts, persistenceMode=persistence)
    cluster_id = run(server, "POST", "/managed-redis/v1/clusters", body)["response"]["id"]
    master = master_of(server, cluster_id)
    fill_db0(master)
    use_and_empty_db5(master, same, cleanup)

    enable_sharding(server, cluster_id)

    assert_every_node_has_db0(server, cluster_id)
    appendonly = "yes" if persistence == "ON" else "no"
    for host in [h["name"] for h in hosts_of(server, cluster_id)]:
        assert admin_client(server, host).config_get("appendonly")["appendonly"] == appendonly, host
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


@requires_tls
def test_tls_cluster_keeps_db0(server: RunningServer) -> None:
    body = create_body("es-tls", hosts=2, tlsEnabled=True)
    cluster_id = run(server, "POST", "/managed-redis/v1/clusters", body)["response"]["id"]
    tls: dict[str, Any] = {"port": 6380, "ssl": True, "ssl_ca_certs": str(Path(server.data_dir) / "tls" / "ca.pem")}
    master = master_of(server, cluster_id)
    fill_db0(master, **tls)
    use_and_empty_db5(master, True, "flushdb", **tls)
    enable_sharding(server, cluster_id)
    assert_every_node_has_db0(server, cluster_id, **tls)
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


def test_the_new_aof_holds_the_data_across_a_restart(server: RunningServer) -> None:
    """The AOF the cluster-mode hosts keep is based on the snapshot they loaded: a stop and a
    start (which read it) bring back every key, db5's history long gone."""
    cluster_id = run(server, "POST", "/managed-redis/v1/clusters", create_body("es-restart", hosts=2))["response"]["id"]
    master = master_of(server, cluster_id)
    fill_db0(master)
    use_and_empty_db5(master, True, "flushdb")
    enable_sharding(server, cluster_id)
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:stop")
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:start")
    assert_every_node_has_db0(server, cluster_id)
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


BIG_KEYS = 1_000_000
BIG_BATCH = 5_000


def fill_big(master: str) -> None:
    """``BIG_KEYS`` keys of 100 bytes, in MSETs of ``BIG_BATCH``: each blocks the master for
    milliseconds. (One script writing 250,000 keys blocked it for seconds on a busy machine:
    past Sentinel's down-after, which failed it over mid-script, a fault of its own kind.)"""
    writer = data_client(master).pipeline(transaction=False)
    for first in range(0, BIG_KEYS, BIG_BATCH):
        writer.mset({f"big:{n}": "x" * 100 for n in range(first + 1, first + BIG_BATCH + 1)})
        if (first // BIG_BATCH) % 20 == 19:
            writer.execute()
    writer.execute()


def test_a_replica_still_loading_a_large_dataset_is_waited_for(server: RunningServer) -> None:
    """~150 MB: the replica takes a while to load what it copied, and answers LOADING meanwhile."""
    cluster_id = run(server, "POST", "/managed-redis/v1/clusters", create_body("es-large", hosts=2))["response"]["id"]
    master = master_of(server, cluster_id)
    fill_db0(master)
    use_and_empty_db5(master, True, "del")
    fill_big(master)

    enable_sharding(server, cluster_id)

    assert_every_node_has_db0(server, cluster_id, others=True)
    for host in [h["name"] for h in hosts_of(server, cluster_id)]:
        assert node_data(host)["size"] == DB0_KEYS + 1 + BIG_KEYS, host
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


def test_writes_acknowledged_during_enable_sharding_are_kept(server: RunningServer) -> None:
    cluster_id = run(server, "POST", "/managed-redis/v1/clusters", create_body("es-writer", hosts=2))["response"]["id"]
    master = master_of(server, cluster_id)
    fill_db0(master)
    use_and_empty_db5(master, False, "flushdb")
    # One shard holds every slot, so a plain client of the master works before and after.
    writer = Writer(lambda: (master, 6379), PASSWORD, prefix="w").start()
    try:
        wait_until(lambda: len(writer.acked) > 100, message="the writer never got going")
        enable_sharding(server, cluster_id)
        acked = len(writer.acked)
        wait_until(lambda: len(writer.acked) > acked + 100, timeout_s=30, message="writes did not resume")
    finally:
        writer.stop()
    assert missing(client(master), [key for key, _ in writer.acked]) == []
    assert_every_node_has_db0(server, cluster_id, others=True)
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


def test_keys_expired_but_not_yet_reclaimed_count_as_gone(server: RunningServer) -> None:
    """Expired keys Redis has not reclaimed yet (``INFO keyspace`` still counts them) neither
    block EnableSharding nor come back in db0."""
    cluster_id = run(server, "POST", "/managed-redis/v1/clusters", create_body("es-unreclaimed", hosts=2))["response"][
        "id"
    ]
    master = master_of(server, cluster_id)
    fill_db0(master)
    db5, names = client(master, db=5), db5_names(True)
    admin = admin_client(server, master)
    # Written at once and held before they expire (a busy machine may take its time between
    # the two): while writes are held, nothing is reclaimed.
    pipeline = db5.pipeline(transaction=False)
    for name in names:
        pipeline.set(name, f"db5-{name}", px=2000)
    pipeline.execute()
    admin.execute_command("CLIENT", "PAUSE", 10_000, "WRITE")
    wait_until(lambda: db5.exists(*names) == 0, timeout_s=10, message="db5's keys did not expire")
    assert admin.info("keyspace")["db5"]["keys"] == DB5_KEYS

    enable_sharding(server, cluster_id)

    assert_every_node_has_db0(server, cluster_id)
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


def test_a_master_that_cannot_save_is_left_as_it_was(server: RunningServer) -> None:
    """Redis refuses to write the snapshot: the operation fails saying so, and the cluster runs
    on non-sharded, every key in place, replica and Sentinels back; once the cause is gone,
    EnableSharding works."""
    cluster_id = run(server, "POST", "/managed-redis/v1/clusters", create_body("es-cannot-save", hosts=2))["response"][
        "id"
    ]
    master = master_of(server, cluster_id)
    fill_db0(master)
    use_and_empty_db5(master, True, "flushdb")
    rdb = Path(server.data_dir) / "hosts" / master / "dump.rdb"
    rdb.unlink(missing_ok=True)
    rdb.mkdir()  # Redis cannot rename a new snapshot over a directory
    response = server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:enable_sharding")
    assert response.status_code == 200, response.text
    done = wait_operation(server, response.json(), timeout_s=180)
    assert "snapshot" in done.get("error", {}).get("message", ""), done
    cluster = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()
    assert not cluster.get("sharded") and cluster["status"] == "RUNNING", server.log()[-6000:]
    wait_alive(server, cluster_id)
    assert master_of(server, cluster_id) == master
    assert_every_node_has_db0(server, cluster_id)
    assert client(master).set("after:failure", "1")

    rdb.rmdir()
    enable_sharding(server, cluster_id)
    assert_every_node_has_db0(server, cluster_id, others=True)
    assert client(master).get("after:failure") == "1"
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


@pytest.mark.parametrize("ttl", [None, 60_000], ids=["plain", "with-ttl"])
def test_live_keys_in_another_database_are_refused_and_nothing_changes(server: RunningServer, ttl: int | None) -> None:
    cluster_id = run(server, "POST", "/managed-redis/v1/clusters", create_body(f"es-refused-{ttl}", hosts=2))[
        "response"
    ]["id"]
    master = master_of(server, cluster_id)
    fill_db0(master)
    client(master, db=5).set("d5:alive", "yes", px=ttl)
    refused = server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:enable_sharding")
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == 9 and "keeps keys in db5" in refused.json()["message"]
    cluster = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()
    assert not cluster.get("sharded") and cluster["status"] == "RUNNING"
    assert client(master, db=5).get("d5:alive") == "yes"
    assert node_data(master) == expected_data()
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


@pytest.mark.parametrize("point", ["snapshot_restart.saved", "enable_sharding.master_restarted"])
def test_enable_sharding_killed_midway_keeps_every_key(tmp_path: Path, point: str) -> None:
    """The control plane dies with the master down and only its snapshot on disk, or with the
    master in cluster mode and the replica down; the restarted server finishes the job."""
    network = host_network()
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_SENTINEL_DOWN_AFTER_S": "2", "MREDIS_LEASE_S": "3"}
    data_dir = tmp_path / "data"
    try:
        with running_server(data_dir, env={**env, "MREDIS_FAILPOINTS": f"{point}=kill"}) as first:
            body = create_body("es-killed", hosts=2)
            cluster_id = run(first, "POST", "/managed-redis/v1/clusters", body)["response"]["id"]
            master = master_of(first, cluster_id)
            fill_db0(master)
            use_and_empty_db5(master, True, "flushdb")
            response = first.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:enable_sharding")
            assert response.status_code == 200, response.text
            wait_until(lambda: first.process.poll() is not None, timeout_s=60, message=f"no death at {point}")
            assert f"failpoint {point} reached" in first.log(), first.log()[-4000:]
        with running_server(data_dir, env=env) as second:
            done = wait_operation(second, response.json(), timeout_s=90)
            assert "error" not in done, f"{done['error']}\n{second.log()[-6000:]}"
            assert done["response"]["sharded"] is True
            assert_every_node_has_db0(second, cluster_id)
            wait_until(lambda: _serves_every_slot(second, cluster_id), timeout_s=30, message="the cluster is not whole")
    finally:
        kill_all(network)


def _serves_every_slot(server: RunningServer, cluster_id: str) -> bool:
    for host in hosts_of(server, cluster_id):
        try:
            info = admin_client(server, host["name"]).execute_command("CLUSTER", "INFO")
        except redis.RedisError:
            return False
        if "cluster_state:ok" not in info or "cluster_slots_ok:16384" not in info:
            return False
    return True
