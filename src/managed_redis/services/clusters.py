"""ClusterService: clusters, their hosts and shards, and every change to them.

Reads come from the store, health and roles included (what the supervisor last saw, never a live
probe of a process). Changes are checked here (rights, request, state) and submitted as
operations; the handlers in ``operations/handlers`` carry them out. The methods live by area
in the ``cluster_*`` modules; this class puts them together as the one service the API knows.
"""

from __future__ import annotations

from managed_redis.services.cluster_bindings import ClusterAccessBindings
from managed_redis.services.cluster_hosts import ClusterHosts
from managed_redis.services.cluster_lifecycle import ClusterLifecycle
from managed_redis.services.cluster_logs import ClusterLogs
from managed_redis.services.cluster_reads import ClusterReads
from managed_redis.services.cluster_shards import ClusterShards
from managed_redis.services.maintenance import ClusterMaintenance


class ClusterService(
    ClusterReads,
    ClusterLifecycle,
    ClusterHosts,
    ClusterShards,
    ClusterAccessBindings,
    ClusterLogs,
    ClusterMaintenance,
):
    """Every built ClusterService RPC; ``rpc_table.RPC_TABLE`` says which method answers which."""
