"""Clients of sharded clusters for tests: a RedisCluster client, and a writer that checks
what it reads back while the cluster changes under it."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

from tests.support.clusters import PASSWORD


def cluster_client(host: str, **kwargs: Any) -> RedisCluster:
    return RedisCluster(host=host, port=6379, password=PASSWORD, decode_responses=True, socket_timeout=5, **kwargs)


def slot_ranges(client: RedisCluster) -> dict[tuple[int, int], dict[str, Any]]:
    """CLUSTER SLOTS as RedisCluster parses it: (first slot, last slot) -> {"primary": (host,
    port), "replicas": [...]}. redis-py annotates the reply as a list, hence the cast."""
    return cast("dict[tuple[int, int], dict[str, Any]]", client.cluster_slots())


class CheckingWriter:
    """Writes ``cw:<n> = n`` in a loop and reads back an earlier key each time.

    ``wrong`` collects reads that came back with another value or none; ``acked`` the keys
    whose write was acknowledged.
    """

    def __init__(self, host: str) -> None:
        self.host = host
        self.client = cluster_client(host)
        self.acked: list[str] = []
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

    def lost(self) -> list[str]:
        """Acknowledged keys now missing, read by a new client: the writer's own may still
        name hosts that were removed while it wrote."""
        values = cluster_client(self.host).mget_nonatomic(self.acked)
        return [key for key, value in zip(self.acked, values, strict=True) if value != key.split(":")[1]]
