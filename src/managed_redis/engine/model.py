"""The engine's plain inputs: what one Redis host or Sentinel is to run as.

Built by the operation handlers from the store; the engine never sees a protobuf
message, a SQL row or an HTTP request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from managed_redis.engine.addresses import REDIS_PORT, REDIS_TLS_PORT, SENTINEL_PORT

ADMIN_USER = "mredis"
REDIS_PIDFILE = "redis.pid"
REDIS_CONF = "redis.conf"
SENTINEL_PIDFILE = "sentinel.pid"
SENTINEL_CONF = "sentinel.conf"


def redis_port(tls: bool) -> int:
    return REDIS_TLS_PORT if tls else REDIS_PORT


def marker(address: str, port: int) -> str:
    """What a process's title holds, to recognize it behind a pid: ``address:port``."""
    return f"{address}:{port}"


@dataclass(frozen=True)
class Credentials:
    """The customer's ``default`` user password and the control plane's own user."""

    password: str
    admin_password: str
    admin_user: str = ADMIN_USER


@dataclass(frozen=True)
class TlsFiles:
    cert_file: Path
    key_file: Path
    ca_file: Path


@dataclass(frozen=True)
class AclUser:
    """An extra Redis user: its name, SHA-256 password hashes and ACL rules (``~* +@all``)."""

    name: str
    password_sha256: tuple[str, ...]
    rules: str
    enabled: bool = True


@dataclass(frozen=True)
class Placement:
    """Where a host belongs and what it may use: what an engine that places hosts itself
    (Kubernetes: a pod of its shard's StatefulSet) needs beside how the host runs. The local
    engine does not read it."""

    cluster_id: str
    shard_name: str
    zone_id: str = ""
    cores: int = 0
    memory_bytes: int = 0
    disk_bytes: int = 0
    # The flavour and release the host runs (``redis``, ``7.0.15``): its container image.
    flavor: str = "redis"
    version: str = ""


@dataclass(frozen=True)
class Node:
    """One redis-server: who it is and how it runs."""

    name: str
    address: str
    directory: Path
    binary: str
    credentials: Credentials
    # (directive, value) lines from the user's configuration, already rendered.
    directives: tuple[tuple[str, str], ...] = ()
    appendonly: bool = True
    tls: TlsFiles | None = None
    # The address of the master this host replicates from; None for a master.
    replica_of: str | None = None
    replica_priority: int = 100
    cluster_mode: bool = False
    cluster_node_timeout_ms: int = 5000
    min_replicas_max_lag_s: int = 5
    users: tuple[AclUser, ...] = ()
    placement: Placement | None = None

    @property
    def port(self) -> int:
        return redis_port(self.tls is not None)

    @property
    def marker(self) -> str:
        """What the process title holds, to recognize our process behind a pid."""
        return marker(self.address, self.port)

    @property
    def pidfile(self) -> Path:
        return self.directory / REDIS_PIDFILE

    @property
    def conf_file(self) -> Path:
        return self.directory / REDIS_CONF

    @property
    def acl_file(self) -> Path:
        return self.directory / "users.acl"

    @property
    def log_file(self) -> Path:
        return self.directory / "redis.log"


@dataclass(frozen=True)
class Sentinel:
    """One redis-sentinel, watching the master of its cluster."""

    name: str
    address: str
    directory: Path
    binary: str
    credentials: Credentials
    master_name: str
    master_address: str
    quorum: int
    down_after_ms: int
    # Every sentinel of the cluster (address -> its fixed run id), this one included,
    # and every replica: written into the config so nobody waits to discover the others.
    sentinel_ids: dict[str, str] = field(default_factory=dict)
    replicas: tuple[str, ...] = ()
    tls: TlsFiles | None = None
    failover_timeout_ms: int = 60_000
    # auth_sentinel: its ``default`` user (the clients') needs the cluster password.
    auth: bool = False
    placement: Placement | None = None

    @property
    def port(self) -> int:
        return SENTINEL_PORT

    @property
    def master_port(self) -> int:
        return redis_port(self.tls is not None)

    @property
    def marker(self) -> str:
        return marker(self.address, SENTINEL_PORT)

    @property
    def myid(self) -> str:
        return self.sentinel_ids[self.address]

    @property
    def pidfile(self) -> Path:
        return self.directory / SENTINEL_PIDFILE

    @property
    def conf_file(self) -> Path:
        return self.directory / SENTINEL_CONF

    @property
    def log_file(self) -> Path:
        return self.directory / "sentinel.log"


@dataclass(frozen=True)
class WatchedHost:
    """What observing one host needs: where its processes listen and how to ask them.

    Cheaper to build than a ``Node`` (no directives, no certificates issued), so the
    supervisor can describe every host of every cluster each pass.
    """

    name: str
    address: str
    directory: Path
    credentials: Credentials
    # TLS hosts: the CA that signed their certificates; None for plain ones.
    ca_file: Path | None = None
    cluster_mode: bool = False
    # The master name the host's Sentinel monitors; None where no Sentinel runs.
    sentinel_master: str | None = None
    # False: this look asks Redis only and leaves the Sentinel be (its facts come back None).
    ask_sentinel: bool = True
    # True: this look only asks whether Redis answers (PING), for a host whose last full look
    # the caller keeps: its facts say whether it answered and its files are there, nothing of
    # its role or replication.
    ping_only: bool = False
    # True: this look also reads the host's load (``stats.STATS_INFO``) into ``HostFacts.stats``.
    with_stats: bool = False
    placement: Placement | None = None

    @property
    def asks_sentinel(self) -> bool:
        return self.sentinel_master is not None and self.ask_sentinel

    @property
    def port(self) -> int:
        return redis_port(self.ca_file is not None)

    # Names and paths a look at the host uses, worked out once (a pass looks at hundreds of hosts).
    @cached_property
    def marker(self) -> str:
        return marker(self.address, self.port)

    @cached_property
    def sentinel_marker(self) -> str:
        return marker(self.address, SENTINEL_PORT)

    @cached_property
    def pidfile(self) -> Path:
        return self.directory / REDIS_PIDFILE

    @cached_property
    def conf_file(self) -> str:
        return str(self.directory / REDIS_CONF)

    @cached_property
    def sentinel_pidfile(self) -> Path:
        return self.directory / SENTINEL_PIDFILE

    @cached_property
    def sentinel_conf_file(self) -> str:
        return str(self.directory / SENTINEL_CONF)
