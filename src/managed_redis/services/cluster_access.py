"""Finding a cluster for a caller: it must exist, and the caller must hold the permission in
its folder or through a role bound on the cluster itself. A caller who may not even read
the cluster is told it does not exist (see ``services/access.py``)."""

from __future__ import annotations

from managed_redis.errors import NotFound
from managed_redis.services.access import Permission
from managed_redis.services.context import Caller
from managed_redis.store import access as access_store
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import ClusterRecord
from managed_redis.store.database import Database


def load_cluster(db: Database, cluster_id: str, caller: Caller, permission: Permission) -> ClusterRecord:
    """The cluster, if the caller may ``permission`` on it.

    Raises NotFound (missing, or not readable by the caller: the same words) and
    PermissionDenied (readable, but ``permission`` is not granted)."""
    principal = caller.authenticated
    resource = f"cluster {cluster_id}"
    with db.read() as conn:
        record = cluster_store.get(conn, cluster_id)
        if record is not None and principal.can(record.folder_id, permission):
            return record  # the folder's roles suffice: no need to read the cluster's bindings
        bound = access_store.roles_of(conn, cluster_id, principal.subject_id) if record is not None else frozenset()
    if record is None:
        raise NotFound(f"{resource} does not exist")
    principal.require_on(resource, record.folder_id, permission, bound)
    return record
