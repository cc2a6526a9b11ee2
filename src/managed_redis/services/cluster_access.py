"""Finding a cluster for a caller: it must exist, and the caller must hold the permission in
its folder or through a role bound on the cluster itself."""

from __future__ import annotations

from managed_redis.errors import NotFound
from managed_redis.services.access import Permission
from managed_redis.services.context import Caller
from managed_redis.store import access as access_store
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import ClusterRecord
from managed_redis.store.database import Database


def load_cluster(db: Database, cluster_id: str, caller: Caller, permission: Permission) -> ClusterRecord:
    principal = caller.authenticated
    with db.read() as conn:
        record = cluster_store.get(conn, cluster_id)
        if record is None:
            raise NotFound(f"cluster {cluster_id} does not exist")
        if principal.can(record.folder_id, permission):
            return record  # the folder's roles suffice: no need to read the cluster's bindings
        bound = access_store.roles_of(conn, cluster_id, principal.subject_id)
    principal.require(record.folder_id, permission, bound)
    return record
