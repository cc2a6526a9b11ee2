"""Handlers of UserService's changes: every host of the cluster made to hold the declared users.

The service stores the user as declared (created, changed or gone) in the transaction that
submits the operation; the handler then brings every host of the cluster, masters and
replicas of every shard, to exactly the stored users at once (``engine.apply_users``, in
parallel): ``users.acl`` rewritten on each, and, on each host that runs, the users set live
(a new password works at once and open connections stay; a disabled or deleted user's
connections are closed). A host that is down, or does not answer (twice, seconds apart), is
left for its restart: its ``users.acl`` is rewritten anyway and Redis reads it when it
starts (the supervisor's restart included). One that runs but did not answer is marked
(``users.mark_pending``): the supervisor gives it the declared users once it answers. A
host that answers but refuses fails the operation.

Each user's ``acl_options`` is stored as a host that answered described it (``ACL LIST``,
less its password hashes), so that reads never ask Redis.
"""

from __future__ import annotations

import logging
import time

import redis
from google.protobuf import empty_pb2
from google.protobuf.message import Message
from yandex.cloud.mdb.redis.v1 import user_pb2
from yandex.cloud.mdb.redis.v1 import user_service_pb2 as service_pb

from managed_redis.domain.users import Permissions, acl_options, rules_described, user_proto
from managed_redis.errors import NotFound
from managed_redis.operations.context import OperationContext
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.parallel import for_each
from managed_redis.store import users as user_store
from managed_redis.store.clusters import HostRecord
from managed_redis.store.database import Database

log = logging.getLogger(__name__)

APPLY_USERS = "apply users"


class _Silent:
    """A running host that did not answer in time."""


SILENT = _Silent()
# A host that did not answer is asked once more after the others, this much later.
ASK_AGAIN_AFTER_S = 2.0


def _apply_on(plan: LoadedCluster, host: HostRecord, last_try: bool) -> dict[str, str] | _Silent | None:
    """What ``host`` now holds of each user; None if it is not running; SILENT if it did not answer."""
    try:
        return plan.deps.engine.apply_users(plan.node(host, None))
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
        if last_try:
            log.warning(
                "host %s did not take its users now (%s); it reads them from users.acl when it starts", host.name, exc
            )
        return SILENT


def apply_users(plan: LoadedCluster, db: Database) -> dict[str, str]:
    """Bring every host of ``plan`` to its stored users, at once; a host that does not answer is
    asked once more after the others, then marked in ``db`` for the supervisor. Returns each user's
    ``acl_options`` (as a host that answered described it; as the rules say when none did).
    Raises redis.RedisError if a host refuses, OSError if a host's users.acl cannot be written."""
    results = dict(
        zip([host.name for host in plan.hosts], for_each(lambda h: _apply_on(plan, h, False), plan.hosts), strict=True)
    )
    silent = [host for host in plan.hosts if results[host.name] is SILENT]
    if silent:
        time.sleep(ASK_AGAIN_AFTER_S)
        results.update(zip([h.name for h in silent], for_each(lambda h: _apply_on(plan, h, True), silent), strict=True))
        still = [host.name for host in silent if results[host.name] is SILENT]
        if still:
            with db.write() as conn:
                user_store.mark_pending(conn, plan.record.id, still)
    described: dict[str, str] = {}
    for held in results.values():
        if isinstance(held, dict):
            for name, text in held.items():
                described.setdefault(name, acl_options(text))
    for user in plan.users:
        described.setdefault(user.name, rules_described(user.enabled, Permissions.from_json(user.permissions)))
    return described


def _apply_everywhere(ctx: OperationContext[Message]) -> LoadedCluster:
    plan = LoadedCluster.of_operation(ctx)
    described = ctx.once(APPLY_USERS, lambda: apply_users(plan, ctx.db))
    with ctx.db.write() as conn:
        user_store.set_acl_options(conn, plan.record.id, described)
        user_store.forget_change(conn, ctx.operation_id)
    return plan


def _shown(ctx: OperationContext[Message], name: str) -> user_pb2.User:
    with ctx.db.read() as conn:
        record = user_store.get(conn, ctx.cluster_id, name)
    if record is None:  # deleted by a later operation before this one answered
        raise NotFound(f"cluster {ctx.cluster_id} has no user {name}")
    permissions = Permissions.from_json(record.permissions)
    return user_proto(record.cluster_id, record.name, permissions, record.enabled, record.acl_options)


def create_user(ctx: OperationContext[service_pb.CreateUserRequest]) -> user_pb2.User:
    _apply_everywhere(ctx)
    return _shown(ctx, ctx.request.user_spec.name)


def update_user(ctx: OperationContext[service_pb.UpdateUserRequest]) -> user_pb2.User:
    _apply_everywhere(ctx)
    return _shown(ctx, ctx.request.user_name)


def delete_user(ctx: OperationContext[service_pb.DeleteUserRequest]) -> empty_pb2.Empty:
    _apply_everywhere(ctx)
    return empty_pb2.Empty()
