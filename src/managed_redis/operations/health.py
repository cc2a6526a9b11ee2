"""Health as the API shows it, from what was last seen of each host (never from a live probe).

A non-sharded host runs two services, REDIS and ARBITER (its Sentinel); a sharded one runs
REDIS_CLUSTER. A service is ALIVE when it answered the last look (Redis: and is done loading
and, in cluster mode, in a cluster that serves). A host is ALIVE when all its services are,
it has its files, and (a replica) its link to its master is up; DEAD when none is; DEGRADED
otherwise. A cluster is judged as a client would find it: DEAD when no shard has a serving
master, DEGRADED when some shard has none or more than one host answering as its master
(one of them was replaced and not yet demoted: a client may still write to it), a slot is
unserved or half-moved, or a host is not ALIVE; ALIVE otherwise. A half-moved slot (a node
has it MIGRATING or IMPORTING, or the nodes name different owners for it) is DEGRADED
because clients then get ASK redirections and TRYAGAIN for commands on several of its keys,
and, once nothing is moving it, keys already moved may be out of reach: it stays so until
the move ends or the supervisor settles it. Facts older than ``STALE_AFTER_S`` (no
supervisor is looking) count as unknown, and so does a cluster that is stopped, starting,
stopping or being created.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.engine.facts import Role
from managed_redis.engine.slots import SLOTS
from managed_redis.operations.views import ClusterView, HostView

Health = cluster_pb2.Host.Health
ClusterHealth = cluster_pb2.Cluster.Health
ServiceType = cluster_pb2.Service.Type
HostRole = cluster_pb2.Host.Role
# Statuses in which the cluster's processes are not meant to be (all) up.
UNKNOWN_HEALTH_STATES = frozenset({"STOPPED", "STOPPING", "STARTING", "CREATING", "ERROR"})
STALE_AFTER_S = 30.0


@dataclass(frozen=True)
class HostHealth:
    health: Health.ValueType
    role: HostRole.ValueType
    # (service, alive) for each service the host runs.
    services: tuple[tuple[ServiceType.ValueType, bool], ...]


UNKNOWN_HOST = HostHealth(Health.HEALTH_UNKNOWN, HostRole.ROLE_UNKNOWN, ())


def _fresh(host: HostView, now: dt.datetime) -> bool:
    return (
        host.facts is not None
        and host.checked_at is not None
        and (now - host.checked_at).total_seconds() < (STALE_AFTER_S)
    )


def host_health(cluster: ClusterView, host: HostView, now: dt.datetime) -> HostHealth:
    if cluster.status in UNKNOWN_HEALTH_STATES or not _fresh(host, now) or host.facts is None:
        return UNKNOWN_HOST
    redis = host.facts.redis
    if cluster.sharded:
        services: tuple[tuple[ServiceType.ValueType, bool], ...] = ((ServiceType.REDIS_CLUSTER, redis.serving),)
    else:
        sentinel = host.facts.sentinel
        services = ((ServiceType.REDIS, redis.serving), (ServiceType.ARBITER, bool(sentinel and sentinel.answered)))
    alive = [up for _, up in services]
    whole = redis.files_present and (redis.role != Role.REPLICA or bool(redis.link_up))
    if all(alive) and whole:
        health = Health.ALIVE
    elif not any(alive):
        health = Health.DEAD
    else:
        health = Health.DEGRADED
    role = HostRole.ROLE_UNKNOWN
    if redis.answered:
        role = HostRole.MASTER if redis.role == Role.MASTER else HostRole.REPLICA
    return HostHealth(health, role, services)


def cluster_health(cluster: ClusterView, now: dt.datetime) -> ClusterHealth.ValueType:
    if cluster.status in UNKNOWN_HEALTH_STATES or not cluster.hosts:
        return ClusterHealth.HEALTH_UNKNOWN
    if not all(_fresh(host, now) for host in cluster.hosts):
        return ClusterHealth.HEALTH_UNKNOWN
    serving = [shard for shard in cluster.shards if _serving_master(cluster, shard) is not None]
    if not serving:
        return ClusterHealth.DEAD
    if len(serving) < len(cluster.shards) or not _every_slot_served(cluster) or _slots_half_moved(cluster):
        return ClusterHealth.DEGRADED
    if any(sum(1 for host in cluster.shard_hosts(shard) if host.is_master) > 1 for shard in cluster.shards):
        return ClusterHealth.DEGRADED
    if all(host_health(cluster, host, now).health == Health.ALIVE for host in cluster.hosts):
        return ClusterHealth.ALIVE
    return ClusterHealth.DEGRADED


def _serving_master(cluster: ClusterView, shard: str) -> HostView | None:
    for host in cluster.shard_hosts(shard):
        if host.is_master and host.redis.serving:
            return host
    return None


def _every_slot_served(cluster: ClusterView) -> bool:
    """Sharded: every serving master sees all 16384 slots served (a client gets a full map)."""
    if not cluster.sharded:
        return True
    masters = [host for host in cluster.hosts if host.is_master and host.redis.serving]
    return all(host.redis.cluster_slots_ok == SLOTS for host in masters)


def _slots_half_moved(cluster: ClusterView) -> bool:
    """Sharded: some node has a slot open (MIGRATING/IMPORTING), or the nodes that answered
    name different owners for some slot."""
    if not cluster.sharded:
        return False
    answering = [host.redis for host in cluster.hosts if host.redis.answered]
    digests = {redis.owners_digest for redis in answering if redis.owners_digest}
    return len(digests) > 1 or any(redis.open_slots for redis in answering)
