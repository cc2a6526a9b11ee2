"""Control connections to our Redis and Sentinel processes, always as the ``mredis`` user.

``client()`` keeps one ``redis.Redis`` (with its own pool) per endpoint for reuse across
calls and threads. Timeouts are short and a command is retried once at most, on a new
connection: a host that does not answer in time is a finding for the caller, not a reason
to hang an operation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

CONNECT_TIMEOUT_S = 1.0
COMMAND_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Endpoint:
    address: str
    port: int
    username: str
    password: str
    ca_file: Path | None = None


def connect(endpoint: Endpoint, timeout_s: float = COMMAND_TIMEOUT_S, retries: int = 0) -> redis.Redis:
    """A new client of its own (close it when done); for long commands or one-off checks.
    Opens nothing yet: its commands raise redis.RedisError (ConnectionError, TimeoutError after
    ``timeout_s``, ResponseError) when the endpoint cannot be asked or refuses."""
    return redis.Redis(
        host=endpoint.address,
        port=endpoint.port,
        username=endpoint.username,
        password=endpoint.password,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=timeout_s,
        ssl=endpoint.ca_file is not None,
        ssl_ca_certs=str(endpoint.ca_file) if endpoint.ca_file else None,
        decode_responses=True,
        retry=Retry(NoBackoff(), retries),
        protocol=2,
    )


class Connections:
    def __init__(self) -> None:
        self._clients: dict[Endpoint, redis.Redis] = {}
        self._lock = threading.Lock()

    def client(self, endpoint: Endpoint) -> redis.Redis:
        """The kept client of ``endpoint``, made on first use. Opens nothing yet: its commands
        raise redis.RedisError as ``connect``'s do."""
        with self._lock:
            client = self._clients.get(endpoint)
            if client is None:
                # One retry on a fresh connection: Sentinel kills normal clients of every
                # instance it reconfigures, so a pooled connection may be dead when reused.
                client = self._clients[endpoint] = connect(endpoint, retries=1)
            return client

    def forget(self, address: str) -> None:
        """Drop pooled connections to a host that went away (restart, removal).
        Never raises."""
        with self._lock:
            for endpoint in [e for e in self._clients if e.address == address]:
                self._clients.pop(endpoint).close()

    def close(self) -> None:
        """Close every kept client. Never raises."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
