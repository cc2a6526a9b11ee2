"""A master blocked by a long write script (EVAL) past failure detection: it answers no one,
its replicas hear nothing, and Sentinel or the cluster bus would promote a replica while
the script runs. When the script then ended, its reply would acknowledge writes the
promoted replica never had, and they would be gone once the old master is demoted.

The supervisor fences such a master before a replica is promoted, so a script either
ends acknowledged with its writes kept, or is never acknowledged; the writes of a
recording writer running meanwhile are all kept, and the cluster serves again.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

from managed_redis.engine.addresses import SENTINEL_PORT
from tests.support.cluster_clients import CheckingWriter, cluster_client, cluster_views
from tests.support.clusters import (
    PASSWORD,
    client,
    create_body,
    create_cluster,
    hosts_of,
    master_of,
    run,
    wait_alive,
)
from tests.support.server import RunningServer, wait_until
from tests.support.writer import Writer

# Writes KEYS[1]..1 to KEYS[1]..ARGV[1], then runs on for ARGV[2] seconds of server time:
# longer than the test server's failure detection (2 s) and Redis's busy-reply-threshold
# (5 s, after which others are answered BUSY while it runs).
SCRIPT = """
for i = 1, tonumber(ARGV[1]) do redis.call('SET', KEYS[1] .. i, i) end
local started = tonumber(redis.call('TIME')[1])
while tonumber(redis.call('TIME')[1]) - started < tonumber(ARGV[2]) do end
return 'done'
"""
SCRIPT_KEYS = 500
RUN_S = 8


class Script:
    """Runs SCRIPT once in a thread on a client with no socket timeout (redis-py's default,
    so the reply is waited for however long the script runs); remembers its outcome."""

    def __init__(self, target: redis.Redis | RedisCluster, prefix: str) -> None:
        self.target = target
        self.prefix = prefix
        self.reply: Any = None
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.reply = self.target.eval(SCRIPT, 1, self.prefix, SCRIPT_KEYS, RUN_S)
        except (redis.RedisError, RedisClusterException, OSError) as exc:  # the master went away under it
            self.error = exc

    def start(self) -> Script:
        self._thread.start()
        return self

    def join(self) -> None:
        self._thread.join(120)
        assert not self._thread.is_alive(), "the script's client never returned"

    def keys(self) -> list[str]:
        return [f"{self.prefix}{i}" for i in range(1, SCRIPT_KEYS + 1)]

    def missing(self, values: list[Any]) -> list[str]:
        """The script's keys missing from ``values`` (read back in ``keys()`` order), if its
        reply acknowledged them; nothing if it was never acknowledged."""
        if self.error is not None:
            return []
        return [key for key, value in zip(self.keys(), values, strict=True) if value is None]


@pytest.fixture
def cluster_ids(server: RunningServer) -> Iterator[list[str]]:
    created: list[str] = []
    yield created
    for cluster_id in created:
        with contextlib.suppress(Exception):  # a broken cluster goes with the module's processes
            run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")


@pytest.mark.parametrize(("hosts", "persistence"), [(2, "OFF"), (3, "ON")], ids=["2-hosts-off", "3-hosts-on"])
def test_a_master_blocked_by_a_long_write_script_loses_nothing_acknowledged(
    server: RunningServer, cluster_ids: list[str], hosts: int, persistence: str
) -> None:
    name = f"script-{hosts}-{persistence.lower()}"
    cluster_id = str(create_cluster(server, name, hosts=hosts, persistenceMode=persistence)["id"])
    cluster_ids.append(cluster_id)
    old_master = master_of(server, cluster_id)
    sentinels = [(h["name"], SENTINEL_PORT) for h in hosts_of(server, cluster_id)]
    writer = Writer.through_sentinel(sentinels, name, PASSWORD, timeout_s=30).start()
    try:
        wait_until(lambda: len(writer.acked) > 200, timeout_s=30, message="the writer never got going")
        script = Script(redis.Redis(host=old_master, port=6379, password=PASSWORD), "script:").start()
        script.join()
        wait_alive(server, cluster_id)
        acked = len(writer.acked)
        wait_until(lambda: len(writer.acked) > acked + 100, timeout_s=30, message="writes did not resume")
    finally:
        writer.stop()
    final = client(master_of(server, cluster_id))
    assert writer.lost(final) == []
    if script.error is None:
        assert script.reply == b"done"
    assert script.missing(final.mget(script.keys())) == []


@pytest.mark.parametrize("shards", [1, 3], ids=["1-shard", "3-shards"])
def test_a_sharded_master_blocked_by_a_long_write_script_loses_nothing_acknowledged(
    server: RunningServer, cluster_ids: list[str], shards: int
) -> None:
    body = create_body(f"script-sharded-{shards}", hosts=2 * shards, sharded=True)
    for index, host in enumerate(body["hostSpecs"]):
        host["shardName"] = f"s{index // 2 + 1}"
    cluster_id = str(run(server, "POST", "/managed-redis/v1/clusters", body)["response"]["id"])
    cluster_ids.append(cluster_id)
    entry = hosts_of(server, cluster_id)[0]["name"]
    writer = CheckingWriter(entry).start()
    try:
        wait_until(lambda: len(writer.acked) > 200, timeout_s=30, message="the writer never got going")
        # The keys share a hash tag: the script runs on one master.
        script = Script(cluster_client(entry, socket_timeout=None), "{script}:").start()
        script.join()
        wait_alive(server, cluster_id)
        acked = len(writer.acked)
        wait_until(lambda: len(writer.acked) > acked + 100, timeout_s=30, message="writes did not resume")
    finally:
        writer.stop()
    lost = writer.lost()
    assert lost == [], f"{server.log()[-8000:]}\n{cluster_views(server, cluster_id)}"
    assert writer.wrong == []
    if script.error is None:
        assert script.reply == "done"
    assert script.missing(cluster_client(entry).mget_nonatomic(script.keys())) == []
