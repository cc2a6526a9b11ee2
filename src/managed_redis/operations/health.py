"""Live health of hosts and clusters, read from the processes themselves.

A non-sharded host runs two services, REDIS and ARBITER (its Sentinel); a sharded one runs
REDIS_CLUSTER. A host is ALIVE when all its services answer, DEAD when none does, DEGRADED
otherwise; a replica whose link to its master is down counts as DEGRADED. A cluster is
ALIVE when every host is, DEAD when no master answers, DEGRADED in between; a stopped
cluster's health is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.operations.parallel import for_each
from managed_redis.operations.plans import ClusterPlan
from managed_redis.store.clusters import HostRecord

Health = cluster_pb2.Host.Health
ClusterHealth = cluster_pb2.Cluster.Health
ServiceType = cluster_pb2.Service.Type
STOPPED_STATES = frozenset({"STOPPED", "STOPPING", "STARTING"})


@dataclass(frozen=True)
class HostState:
    name: str
    redis_alive: bool
    sentinel_alive: bool | None
    role: str | None = None  # "master" or "replica"
    link_up: bool = True
    master_address: str | None = None

    @property
    def services(self) -> list[tuple[ServiceType.ValueType, bool]]:
        if self.sentinel_alive is None:
            return [(ServiceType.REDIS_CLUSTER, self.redis_alive)]
        return [(ServiceType.REDIS, self.redis_alive), (ServiceType.ARBITER, self.sentinel_alive)]

    @property
    def health(self) -> Health.ValueType:
        alive = [up for _, up in self.services]
        if all(alive):
            return Health.ALIVE if self.link_up else Health.DEGRADED
        return Health.DEAD if not any(alive) else Health.DEGRADED


def probe_host(plan: ClusterPlan, host: HostRecord) -> HostState:
    engine = plan.deps.engine
    node = plan.node(host, None)
    sentinel_alive: bool | None = None
    if not plan.record.sharded:
        sentinel_alive = engine.sentinel_running(plan.sentinel(host, host))
    if not engine.node_running(node):
        return HostState(host.name, False, sentinel_alive)
    try:
        info = engine.replication(node)
    except redis.RedisError:
        return HostState(host.name, False, sentinel_alive)
    if info.get("role") == "master":
        return HostState(host.name, True, sentinel_alive, "master")
    return HostState(
        host.name,
        True,
        sentinel_alive,
        "replica",
        link_up=info.get("master_link_status") == "up",
        master_address=info.get("master_host"),
    )


def probe_cluster(plan: ClusterPlan) -> dict[str, HostState]:
    if plan.record.status in STOPPED_STATES:
        return {}
    states = for_each(lambda host: probe_host(plan, host), plan.hosts)
    return {state.name: state for state in states}


def cluster_health(plan: ClusterPlan, states: dict[str, HostState]) -> ClusterHealth.ValueType:
    if plan.record.status in STOPPED_STATES or not states:
        return ClusterHealth.HEALTH_UNKNOWN
    if not any(state.role == "master" for state in states.values()):
        return ClusterHealth.DEAD
    if all(state.health == Health.ALIVE for state in states.values()):
        return ClusterHealth.ALIVE
    return ClusterHealth.DEGRADED
