"""Clients of sharded clusters for tests: a RedisCluster client, and a writer that checks
what it reads back while the cluster changes under it."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any, cast

import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

from tests.support.clusters import FOLDER, PASSWORD, admin_client, hosts_of, run
from tests.support.server import RunningServer


def cluster_client(host: str, **kwargs: Any) -> RedisCluster:
    options = {"socket_timeout": 5, **kwargs}
    return RedisCluster(host=host, port=6379, password=PASSWORD, decode_responses=True, **options)


def slot_ranges(client: RedisCluster) -> dict[tuple[int, int], dict[str, Any]]:
    """CLUSTER SLOTS as RedisCluster parses it: (first slot, last slot) -> {"primary": (host,
    port), "replicas": [...]}. redis-py annotates the reply as a list, hence the cast."""
    return cast("dict[tuple[int, int], dict[str, Any]]", client.cluster_slots())


class CheckingWriter:
    """Writes ``cw:<n> = n`` in a loop and reads back an earlier key each time.

    ``wrong`` collects reads that came back with another value or none; ``acked`` the keys
    whose write was acknowledged, ``acked_at`` when (monotonic seconds).
    """

    def __init__(self, host: str) -> None:
        self.host = host
        self.client = cluster_client(host)
        self.acked: list[str] = []
        self.acked_at: list[float] = []
        self.wrong: list[tuple[str, Any]] = []
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
                self.acked_at.append(time.monotonic())
                probe = self.acked[number // 2]
                value = self.client.get(probe)
                if value != probe.split(":")[1]:
                    self.wrong.append((probe, value))
                number += 1
            except (redis.RedisError, RedisClusterException, AttributeError):  # as a node goes away
                self.errors += 1
                time.sleep(0.05)
            time.sleep(0.002)

    def start(self) -> CheckingWriter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def max_gap_s(self, since: float = 0.0) -> float:
        """The longest time between two acknowledged writes from ``since`` (monotonic s) on."""
        times = [t for t in self.acked_at if t >= since]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def lost(self) -> list[str]:
        """Acknowledged keys now missing, read by a new client: the writer's own may still
        name hosts that were removed while it wrote."""
        values = cluster_client(self.host).mget_nonatomic(self.acked)
        return [key for key, value in zip(self.acked, values, strict=True) if value != key.split(":")[1]]


def cluster_views(server: RunningServer, cluster_id: str | None = None) -> str:
    """What each Redis node says of its cluster (``CLUSTER NODES``), for a failure's message:
    of ``cluster_id``, or of every cluster of ``server``'s test folder. Never raises."""
    views = []
    try:
        ids = (
            [cluster_id]
            if cluster_id
            else [
                c["id"] for c in run(server, "GET", f"/managed-redis/v1/clusters?folderId={FOLDER}").get("clusters", [])
            ]
        )
        for each in ids:
            for host in hosts_of(server, each):
                try:
                    views.append(
                        f"{host['name']}:\n{admin_client(server, host['name']).execute_command('CLUSTER', 'NODES')}"
                    )
                except Exception as exc:  # a node down: say so
                    views.append(f"{host['name']}: {exc}")
    except Exception as exc:  # the server itself does not answer
        views.append(f"(no views: {exc})")
    return "\n".join(views)
