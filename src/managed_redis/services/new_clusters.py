"""What Create and Restore share: checking a new cluster's request and writing its rows.

Both requests carry the same declared fields (name, labels, environment, flags, config,
hosts, Redis users); Restore adds where its data comes from. ``NewCluster`` is the checked
result, and ``insert`` writes the cluster, its shards, its hosts (addresses allocated in the
same transaction) and its users with status CREATING. A restored cluster has the users its
Restore request declares, and only those: a backup holds data, not the users of the
cluster it was taken from (which may be gone, or have changed since).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from yandex.cloud.mdb.redis.v1 import cluster_pb2, maintenance_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis import ids
from managed_redis.catalog.acl_commands import vocabulary_for
from managed_redis.catalog.presets import PRESETS_BY_ID
from managed_redis.catalog.versions import RedisVersion
from managed_redis.domain.cluster_spec import spec_json
from managed_redis.domain.topology import DEFAULT_SHARD
from managed_redis.domain.users import DeclaredUser, rules_described, users_of_specs
from managed_redis.engine.addresses import allocate
from managed_redis.errors import AlreadyExists, FieldViolation
from managed_redis.operations.deps import Deps
from managed_redis.services.capacity import admit_hosts
from managed_redis.services.cluster_checks import (
    check_cloud_id,
    check_cluster_fields,
    check_config_spec,
    check_host_specs,
    check_password,
    check_shard_layout,
    check_tls_support,
    raise_if_any,
    resolve_version,
)
from managed_redis.statuses import ClusterStatus, HostState
from managed_redis.store import clusters as cluster_store
from managed_redis.store import users as user_store
from managed_redis.store.clusters import ClusterRecord, HostRecord, ShardRecord
from managed_redis.store.users import UserRecord

NewClusterRequest = service_pb.CreateClusterRequest | service_pb.RestoreClusterRequest


@dataclass(frozen=True)
class NewCluster:
    cluster_id: str
    folder_id: str
    name: str
    declared: cluster_pb2.Cluster
    spec: service_pb.ConfigSpec  # version resolved; the password still in it
    sharded: bool
    hosts: tuple[tuple[str, service_pb.HostSpec], ...]  # (shard name, spec)
    version: RedisVersion
    users: tuple[DeclaredUser, ...] = ()

    @property
    def shard_names(self) -> list[str]:
        return list(dict.fromkeys(shard for shard, _ in self.hosts))


def check(
    request: NewClusterRequest,
    folder_id: str,
    spec: service_pb.ConfigSpec,
    versions: Sequence[RedisVersion],
    shard_count: int | None = None,
    default_version: str | None = None,
) -> NewCluster:
    """Every problem of the request at once (INVALID_ARGUMENT), or the new cluster it asks for.
    A request naming no version gets ``default_version``, or the newest one here if that is None."""
    version, problems = resolve_version(spec.version or default_version or "", versions, "config_spec.version")
    vocabulary = vocabulary_for(version.id if version is not None else "")
    users, user_problems = users_of_specs(request.user_specs, "user_specs", vocabulary)
    problems += check_tls_support(version, request.tls_enabled.value, versions)
    problems += user_problems
    problems += check_cloud_id(folder_id, "folder_id", required=True)
    problems += check_cluster_fields(request)
    redis_field = request.config_spec.WhichOneof("redis_spec") or "redis"
    problems += check_config_spec(spec, version, request.sharded, redis_field=redis_field, versions=versions)
    problems += check_password(spec.redis.password, "config_spec.redis.password", required=True)
    problems += check_host_specs(request.host_specs, request.tls_enabled.value, request.sharded)
    if request.sharded:
        problems += check_shard_layout(request.host_specs, shard_count=shard_count)
    if not request.host_specs:
        problems.append(FieldViolation("host_specs", "number of elements must be >0"))
    raise_if_any(problems)
    assert version is not None
    resolved = service_pb.ConfigSpec()
    resolved.CopyFrom(spec)
    resolved.version = version.id
    return NewCluster(
        cluster_id=ids.new_id(),
        folder_id=folder_id,
        name=request.name,
        declared=declared_cluster(request),
        spec=resolved,
        sharded=request.sharded,
        hosts=tuple((host.shard_name if request.sharded else DEFAULT_SHARD, host) for host in request.host_specs),
        version=version,
        users=tuple(users),
    )


def declared_cluster(request: NewClusterRequest) -> cluster_pb2.Cluster:
    declared = cluster_pb2.Cluster(
        description=request.description,
        labels=dict(request.labels),
        environment=request.environment,
        network_id=request.network_id,
        security_group_ids=list(request.security_group_ids),
        tls_enabled=request.tls_enabled.value,
        deletion_protection=request.deletion_protection,
        persistence_mode=request.persistence_mode,
        announce_hostnames=request.announce_hostnames,
        auth_sentinel=request.auth_sentinel,
    )
    if request.HasField("maintenance_window"):
        declared.maintenance_window.CopyFrom(request.maintenance_window)
    else:
        declared.maintenance_window.CopyFrom(
            maintenance_pb2.MaintenanceWindow(anytime=maintenance_pb2.AnytimeMaintenanceWindow())
        )
    if request.HasField("maintenance_windows"):
        declared.maintenance_windows.CopyFrom(request.maintenance_windows)
    if request.HasField("disk_encryption_key_id"):
        declared.disk_encryption_key_id.CopyFrom(request.disk_encryption_key_id)
    return declared


def host_record(
    cluster_id: str, shard_name: str, spec: service_pb.HostSpec, address: str, now: dt.datetime
) -> HostRecord:
    return HostRecord(
        name=address,
        cluster_id=cluster_id,
        shard_name=shard_name,
        zone_id=spec.zone_id,
        address=address,
        state=HostState.ACTIVE,
        created_at=now,
        subnet_id=spec.subnet_id,
        replica_priority=spec.replica_priority.value if spec.HasField("replica_priority") else None,
        assign_public_ip=spec.assign_public_ip,
    )


def insert(conn: Connection, deps: Deps, new: NewCluster, now: dt.datetime) -> None:
    """Write the cluster (CREATING), its shards and hosts; the name must be free in the folder
    and the machine must hold the hosts' memory (ResourceExhausted, ``capacity.admit``)."""
    if cluster_store.list_in_folder(conn, new.folder_id, 1, None, new.name):
        raise AlreadyExists(f"a cluster named {new.name!r} already exists in folder {new.folder_id}")
    admit_hosts(conn, deps.settings, PRESETS_BY_ID[new.spec.resources.resource_preset_id], len(new.hosts))
    secrets = deps.vault.seal({"password": new.spec.redis.password, "admin_password": ids.new_token()})
    cluster_store.insert(
        conn,
        ClusterRecord(
            id=new.cluster_id,
            folder_id=new.folder_id,
            name=new.name,
            status=ClusterStatus.CREATING,
            created_at=now,
            sharded=new.sharded,
            spec=spec_json(new.declared, new.spec),
            secrets=secrets,
        ),
    )
    for shard_name in new.shard_names:
        cluster_store.insert_shard(conn, ShardRecord(new.cluster_id, shard_name, now))
    addresses = allocate(deps.settings.host_network, cluster_store.used_addresses(conn), len(new.hosts))
    for (shard_name, spec), address in zip(new.hosts, addresses, strict=True):
        cluster_store.insert_host(conn, host_record(new.cluster_id, shard_name, spec, address, now))
    for user in new.users:
        described = rules_described(user.enabled, user.permissions)
        record = UserRecord(
            new.cluster_id, user.name, user.password_sha256, user.permissions.to_json(), user.enabled, now, described
        )
        user_store.insert(conn, record)
