"""From stored records to what the engine runs: a cluster's nodes and Sentinels.

``LoadedCluster`` is a cluster, its shards and hosts as read once, with what operations
use beside them (``Deps``). It answers "how does host X run" (``node``) and "how does the
Sentinel on host X run" (``sentinel``) without writing anything: passwords come out of the
vault here and go only into the engine's inputs, and a TLS host's certificate files are
named by where they are. ``issue_certificates`` writes (or renews) them: operations call it
before they start processes (``load_to_run`` does it for every host). Every node carries the
cluster's Redis users as stored, so whatever writes a host's files or starts it gives it
today's ``users.acl``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from google.protobuf.message import Message
from yandex.cloud.mdb.redis.v1 import cluster_pb2, cluster_service_pb2

from managed_redis.catalog.presets import PRESETS_BY_ID
from managed_redis.catalog.versions import RedisVersion
from managed_redis.domain import redis_config
from managed_redis.domain.cluster_spec import config_spec_of, declared_of
from managed_redis.domain.users import Permissions
from managed_redis.engine.model import AclUser, Credentials, Node, Placement, Sentinel, TlsFiles, WatchedHost
from managed_redis.errors import NotFound
from managed_redis.operations.context import OperationContext
from managed_redis.operations.deps import Deps
from managed_redis.pki import IssuedCertificate
from managed_redis.store import clusters as cluster_store
from managed_redis.store import users as user_store
from managed_redis.store.clusters import ClusterRecord, HostRecord, ShardRecord
from managed_redis.store.database import Database
from managed_redis.store.users import UserRecord

PersistenceMode = cluster_pb2.Cluster.PersistenceMode


def sentinel_run_id(cluster_id: str, host_name: str) -> str:
    """A fixed 40-hex Sentinel run id per host, so peers can be written into configs."""
    return hashlib.sha1(f"{cluster_id}/{host_name}".encode()).hexdigest()


@dataclass
class LoadedCluster:
    """A cluster's row, hosts and shards as read once, and the dependencies that turn them
    into engine inputs. Not a plan of changes: reading it writes nothing."""

    deps: Deps
    record: ClusterRecord
    hosts: list[HostRecord]
    shards: list[ShardRecord]
    users: list[UserRecord] = field(default_factory=list)

    @classmethod
    def load(cls, db: Database, deps: Deps, cluster_id: str) -> LoadedCluster:
        """The cluster as stored now; a read only. NotFound if it does not exist."""
        with db.read() as conn:
            record = cluster_store.get(conn, cluster_id)
            if record is None:
                raise NotFound(f"cluster {cluster_id} does not exist")
            hosts = cluster_store.list_hosts(conn, cluster_id)
            shards = cluster_store.list_shards(conn, cluster_id)
            users = user_store.list_users(conn, cluster_id)
        return cls(deps, record, hosts, shards, users)

    @classmethod
    def of_operation(cls, ctx: OperationContext[Message]) -> LoadedCluster:
        """The cluster ``ctx``'s operation works on, as stored now (``load``)."""
        return cls.load(ctx.db, ctx.deps, ctx.cluster_id)

    @classmethod
    def load_to_run(cls, db: Database, deps: Deps, cluster_id: str) -> LoadedCluster:
        """``load``, then ``issue_certificates`` for every host: for starting its processes."""
        loaded = cls.load(db, deps, cluster_id)
        loaded.issue_certificates()
        return loaded

    # -- what the cluster declares --------------------------------------------------------------

    @cached_property
    def config_spec(self) -> cluster_service_pb2.ConfigSpec:
        return config_spec_of(self.record)

    @cached_property
    def declared(self) -> cluster_pb2.Cluster:
        return declared_of(self.record)

    @cached_property
    def version(self) -> RedisVersion:
        return self.deps.version(self.config_spec.version)

    @cached_property
    def credentials(self) -> Credentials:
        secrets = self.deps.vault.open_sealed(self.record.secrets or b"")
        return Credentials(password=secrets["password"], admin_password=secrets["admin_password"])

    @property
    def tls_enabled(self) -> bool:
        return self.declared.tls_enabled

    def host(self, name: str) -> HostRecord:
        """The cluster's host ``name``; NotFound (also a LookupError) if it has none so named."""
        for host in self.hosts:
            if host.name == name:
                return host
        raise NotFound(f"host {name} is not part of cluster {self.record.id}")

    def shard_hosts(self, shard_name: str) -> list[HostRecord]:
        return [host for host in self.hosts if host.shard_name == shard_name]

    def shard_master(self, shard_name: str) -> HostRecord:
        """The recorded master of a shard (or its first host if none was recorded yet)."""
        hosts = self.shard_hosts(shard_name)
        recorded = next((s.master_host for s in self.shards if s.name == shard_name), None)
        return next((h for h in hosts if h.name == recorded), hosts[0])

    # -- how hosts run ----------------------------------------------------------------------------

    def watched(self, host: HostRecord) -> WatchedHost:
        """How to look at ``host`` (see ``watched_host``)."""
        return watched_host(self.deps, self.record, host, self.credentials, self.tls_enabled)

    def directory(self, host: HostRecord) -> Path:
        return self.deps.settings.hosts_dir / host.name

    def _certificate_prefix(self, host: HostRecord) -> Path:
        return self.directory(host) / "tls" / "host"

    def tls_files(self, host: HostRecord) -> TlsFiles | None:
        """Where the host's certificate from the service CA, its key and the CA are (None
        without TLS); written by ``issue_certificates``."""
        if not self.tls_enabled:
            return None
        issued = IssuedCertificate.at(self._certificate_prefix(host))
        return TlsFiles(issued.cert_path, issued.key_path, self.deps.ca.cert_path)

    def issue_certificates(self, hosts: list[HostRecord] | None = None) -> None:
        """Write the certificate of each of ``hosts`` (default: all) unless the one there is
        still good for its name and address; nothing without TLS. Raises OSError."""
        if not self.tls_enabled:
            return
        for host in self.hosts if hosts is None else hosts:
            if host.name not in self._issued:
                self.deps.ca.issue(self._certificate_prefix(host), host.name, [host.address])
                self._issued.add(host.name)

    @cached_property
    def _issued(self) -> set[str]:
        return set()

    @cached_property
    def directives(self) -> tuple[tuple[str, str], ...]:
        preset = PRESETS_BY_ID[self.config_spec.resources.resource_preset_id]
        values = redis_config.effective_values(self.config_spec.redis)
        version = (self.version.major, self.version.minor)
        return tuple(redis_config.directives(values, preset.memory, preset.cores, version, self.record.sharded))

    def placement(self, host: HostRecord) -> Placement:
        """Where ``host`` belongs and what it may use (an engine that places hosts reads it)."""
        return placement_of(self.deps, self.record, host)

    @cached_property
    def acl_users(self) -> tuple[AclUser, ...]:
        """The customer's users (``default`` aside) as every host holds them."""
        return tuple(
            AclUser(user.name, user.password_sha256, Permissions.from_json(user.permissions).acl_rules(), user.enabled)
            for user in self.users
        )

    def node(self, host: HostRecord, replica_of: HostRecord | None) -> Node:
        mode = self.declared.persistence_mode
        appendonly = mode == PersistenceMode.ON or (mode == PersistenceMode.ON_REPLICAS and replica_of is not None)
        return Node(
            name=host.name,
            address=host.address,
            directory=self.directory(host),
            binary=self.version.binary,
            credentials=self.credentials,
            directives=self.directives,
            appendonly=appendonly,
            tls=self.tls_files(host),
            replica_of=replica_of.address if replica_of else None,
            replica_priority=100 if host.replica_priority is None else host.replica_priority,
            cluster_mode=self.record.sharded,
            cluster_node_timeout_ms=int(self.deps.settings.cluster_node_timeout_s * 1000),
            min_replicas_max_lag_s=self.deps.settings.min_replicas_max_lag_s,
            users=self.acl_users,
            placement=self.placement(host),
        )

    def sentinel(self, host: HostRecord, master: HostRecord) -> Sentinel:
        members = self.shard_hosts(host.shard_name)
        return Sentinel(
            name=host.name,
            address=host.address,
            directory=self.directory(host),
            binary=self.version.binary,
            credentials=self.credentials,
            master_name=self.record.name,
            master_address=master.address,
            quorum=len(members) // 2 + 1,
            down_after_ms=int(self.deps.settings.sentinel_down_after_s * 1000),
            sentinel_ids={m.address: sentinel_run_id(self.record.id, m.name) for m in members},
            replicas=tuple(m.address for m in members if m.name != master.name),
            tls=self.tls_files(host),
            auth=self.declared.auth_sentinel,
            placement=self.placement(host),
        )


def watched_host(
    deps: Deps, record: ClusterRecord, host: HostRecord, credentials: Credentials, tls: bool
) -> WatchedHost:
    """How to look at ``host`` of cluster ``record``: its address, directory and processes."""
    return WatchedHost(
        name=host.name,
        address=host.address,
        directory=deps.settings.hosts_dir / host.name,
        credentials=credentials,
        ca_file=deps.ca.cert_path if tls else None,
        cluster_mode=record.sharded,
        sentinel_master=None if record.sharded else record.name,
        placement=Placement(record.id, host.shard_name, host.zone_id),
    )


def placement_of(deps: Deps, record: ClusterRecord, host: HostRecord) -> Placement:
    """``host``'s cluster, shard and zone, its preset's cores and memory, its disk size and the
    release it runs. Raises FailedPrecondition if that release is not installed here."""
    spec = config_spec_of(record)
    preset = PRESETS_BY_ID[spec.resources.resource_preset_id]
    version = deps.version(spec.version)
    return Placement(
        cluster_id=record.id,
        shard_name=host.shard_name,
        zone_id=host.zone_id,
        cores=preset.cores,
        memory_bytes=preset.memory,
        disk_bytes=spec.resources.disk_size,
        flavor=version.flavor,
        version=version.full_version,
    )
