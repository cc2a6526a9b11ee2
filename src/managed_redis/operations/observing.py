"""Looking at one cluster now, from an operation: the engine's facts, stored for readers.

Operations look at their cluster when they must know the present (which replica is in sync,
what Get should show once they are done); the supervisor looks at every cluster each pass
(``supervisor.py``). Both store what they saw, so API reads never probe a process.
"""

from __future__ import annotations

from collections.abc import Mapping

from managed_redis.clock import SYSTEM_CLOCK, Clock
from managed_redis.engine.facts import HostFacts, RedisFacts
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.views import ClusterView, cluster_view
from managed_redis.store import host_facts
from managed_redis.store.database import Database
from managed_redis.store.host_facts import FactsRow, Sighting


def look(db: Database, plan: LoadedCluster, clock: Clock = SYSTEM_CLOCK) -> ClusterView:
    """Observe every host of ``plan`` now, store the facts, and return the cluster as seen."""
    facts = plan.deps.engine.observe([plan.watched(host) for host in plan.hosts])
    now = clock.now()
    with db.write() as conn:
        host_facts.record(conn, sightings(plan.record.id, facts), now)
        stored = host_facts.for_clusters(conn, [plan.record.id])
    return cluster_view(plan.record, plan.hosts, plan.shards, stored)


def live_redis(plan: LoadedCluster) -> dict[str, RedisFacts]:
    """host name -> what its Redis says now (not stored: for an operation's own choice)."""
    facts = plan.deps.engine.observe([plan.watched(host) for host in plan.hosts])
    return {name: found.redis for name, found in facts.items()}


def sightings(cluster_id: str, facts: Mapping[str, HostFacts]) -> list[Sighting]:
    """What to store of one look at ``cluster_id``'s hosts (every row written in full)."""
    return [Sighting(name, cluster_id, found.redis.answered, found.to_json()) for name, found in facts.items()]


def stored_view(db: Database, plan: LoadedCluster) -> ClusterView:
    """The cluster as last seen, without looking again."""
    with db.read() as conn:
        stored: dict[str, FactsRow] = host_facts.for_clusters(conn, [plan.record.id])
    return cluster_view(plan.record, plan.hosts, plan.shards, stored)
