"""What every part of ClusterService shares: finding a cluster for a caller, and submitting
an operation on it after the checks every change makes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy.engine import Connection
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.operation import operation_pb2

from managed_redis.domain.cluster_view import cluster_proto
from managed_redis.errors import FailedPrecondition, NotFound
from managed_redis.operations.deps import Deps
from managed_redis.operations.health import cluster_health
from managed_redis.operations.kinds import ClusterChange, OperationKind
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.submit import OperationQueue, Submission, conflicting_operation
from managed_redis.operations.views import ClusterView, cluster_view
from managed_redis.services.access import Permission
from managed_redis.services.cluster_access import load_cluster
from managed_redis.services.context import Caller
from managed_redis.services.render_cache import RenderCache
from managed_redis.services.submitting import submit_operation
from managed_redis.store import clusters as cluster_store
from managed_redis.store import host_facts
from managed_redis.store import maintenances as maintenance_store
from managed_redis.store.clusters import ClusterBrief, ClusterRecord
from managed_redis.store.database import Database

RequestT = TypeVar("RequestT", bound=Message)
MetadataT = TypeVar("MetadataT", bound=Message)


class ClusterServiceBase:
    def __init__(self, db: Database, queue: OperationQueue, deps: Deps) -> None:
        self.db = db
        self.queue = queue
        self.deps = deps
        self.rendered: RenderCache[cluster_pb2.Cluster] = RenderCache(lambda: queue.clock.now().timestamp())

    def _cluster(self, cluster_id: str, caller: Caller, permission: Permission) -> ClusterRecord:
        return load_cluster(self.db, cluster_id, caller, permission)

    def _loaded(self, record: ClusterRecord) -> LoadedCluster:
        """The cluster ``record`` with its hosts and shards, as stored now (a read only)."""
        return LoadedCluster.load(self.db, self.deps, record.id)

    def _with_health(self, record: ClusterRecord) -> cluster_pb2.Cluster:
        hit = self.rendered.get(record.id, record.revision)
        return hit if hit is not None else self._render([record])[record.id]

    def _with_health_of(self, briefs: list[ClusterBrief]) -> list[cluster_pb2.Cluster]:
        """The clusters as the API shows them, health from what was last seen (no probe);
        each rendered once per revision (``RenderCache``): only those whose revision moved
        are read in full."""
        found = {b.id: hit for b in briefs if (hit := self.rendered.get(b.id, b.revision)) is not None}
        stale = [b.id for b in briefs if b.id not in found]
        if stale:
            with self.db.read() as conn:
                records = cluster_store.get_many(conn, stale)
            found.update(self._render(records))
        return [found[b.id] for b in briefs if b.id in found]

    def _render(self, records: list[ClusterRecord]) -> dict[str, cluster_pb2.Cluster]:
        views = self._views(records)
        with self.db.read() as conn:
            planned = maintenance_store.active_for(conn, [record.id for record in records])
        now = self.queue.clock.now()
        rendered = {}
        for record in records:
            view = views[record.id]
            rendered[record.id] = cluster_proto(
                record,
                cluster_health(view, now),
                host_zones=view.active_host_zones(),
                versions=self.deps.versions,
                planned=planned.get(record.id),
            )
            self.rendered.put(record.id, record.revision, rendered[record.id])
        return rendered

    def _views(self, records: list[ClusterRecord]) -> dict[str, ClusterView]:
        """cluster id -> the cluster as last seen, read in one transaction for all of them."""
        ids = [record.id for record in records]
        with self.db.read() as conn:
            hosts = cluster_store.hosts_of(conn, ids)
            shards = cluster_store.shards_of(conn, ids)
            facts = host_facts.for_clusters(conn, ids)
        return {r.id: cluster_view(r, hosts[r.id], shards[r.id], facts) for r in records}

    def _changeable(self, cluster_id: str, caller: Caller, kind: OperationKind[Any, Any, Any]) -> ClusterRecord:
        """The cluster, if the caller may change it and its status allows ``kind``'s change."""
        record = self._cluster(cluster_id, caller, Permission.MUTATE)
        require_status(record, change_of(kind))
        return record

    def _change(
        self,
        caller: Caller,
        cluster_id: str,
        kind: OperationKind[RequestT, MetadataT, Any],
        request: RequestT,
        metadata: MetadataT,
        *,
        handler_request: RequestT | None = None,
        check: Callable[[Connection, ClusterRecord], None] | None = None,
    ) -> operation_pb2.Operation:
        """Submit ``kind`` on one cluster, checking its status (``kind.change``) again inside
        the transaction, then ``check`` (which may write rows of its own), then setting the
        status the change shows. ``handler_request``: what the handler works from, when it is
        not the caller's ``request``. Callers check the caller's rights first (``_changeable``).
        Raises NotFound, FailedPrecondition and what ``check`` raises."""
        change = change_of(kind)

        def prepare(conn: Connection) -> Submission:
            current = cluster_store.get(conn, cluster_id)
            if current is None:
                raise NotFound(f"cluster {cluster_id} does not exist")
            require_status(current, change)
            if check is not None:
                check(conn, current)
            if change.sets_status is not None:
                cluster_store.update(conn, cluster_id, status=change.sets_status)
            return Submission.of(
                kind,
                handler_request or request,
                metadata,
                folder_id=current.folder_id,
                cluster_id=cluster_id,
                status_before=current.status,
            )

        return submit_operation(self.queue, caller, kind, handler_request or request, prepare)


def change_of(kind: OperationKind[Any, Any, Any]) -> ClusterChange:
    """What ``kind`` asks of the cluster it changes; ValueError for a kind that changes none."""
    if kind.change is None:
        raise ValueError(f"operation kind {kind.name} is not a change of one cluster")
    return kind.change


def require_status(record: ClusterRecord, change: ClusterChange) -> None:
    """Refuse ``change`` unless the cluster is free and in one of its ``allowed`` statuses
    (FailedPrecondition). An operation holding the cluster is named first (whatever status it
    put the cluster in), so that a client that waits for it and retries (Terraform) can."""
    if record.active_operation_id is not None:
        raise conflicting_operation(record.id, record.active_operation_id)
    if record.status in change.allowed:
        return
    if record.status == "STOPPED":
        raise FailedPrecondition(f"cluster {record.id} is STOPPED; start it before {change.doing}")
    raise FailedPrecondition(
        f"cluster {record.id} is {record.status}; {change.doing} needs it {' or '.join(change.allowed)}"
    )
