"""UserService: a cluster's Redis users as API objects (api.md §3.7, §10.1).

Users are part of their cluster: whoever may read the cluster reads them (viewers), whoever
may change it changes them (editors). Get and List show ``default`` too, the cluster's own
user (its password is the cluster's); it can be neither changed here nor deleted. The
control plane's own user is never shown.

A change is stored as declared in the transaction that submits its operation (one per
cluster at a time, like every change), and the operation brings every host to it
(``operations/handlers/users.py``). Passwords are kept only as SHA-256 digests and never
stored in an operation. Update with an ``update_mask`` changes only the listed paths
(``passwords``, ``enabled``, ``permissions`` or ``permissions.<field>``); a listed field the
request leaves out takes its default. Without a mask the request is the user's whole new
state (api.md §1.4): permissions it leaves out take their defaults and ``enabled``, a plain
bool, is what it says (false when left out), but a password left out is kept: a user is
never left without one. An Update that changes nothing is FAILED_PRECONDITION.
``generate_password`` is UNIMPLEMENTED (see ``domain/users.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from yandex.cloud.mdb.redis.v1 import user_pb2
from yandex.cloud.mdb.redis.v1 import user_service_pb2 as service_pb
from yandex.cloud.operation import operation_pb2

from managed_redis import ids
from managed_redis.catalog.acl_commands import REDIS_7_0, AclVocabulary, vocabulary_for
from managed_redis.domain.cluster_spec import config_spec_of
from managed_redis.domain.users import (
    DEFAULT_PERMISSIONS,
    DEFAULT_USER,
    PERMISSION_FIELDS,
    Permissions,
    check_password,
    default_user_proto,
    permissions_of,
    refuse_generated_password,
    user_of_spec,
    user_proto,
    without_passwords,
)
from managed_redis.engine.conf import sha256
from managed_redis.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from managed_redis.operations import registry
from managed_redis.operations.kinds import OperationKind
from managed_redis.operations.submit import Submission
from managed_redis.services.access import Permission
from managed_redis.services.cluster_base import ClusterServiceBase, change_of, require_status
from managed_redis.services.cluster_checks import raise_if_any
from managed_redis.services.context import Caller
from managed_redis.services.pagination import page_of
from managed_redis.services.submitting import submit_operation
from managed_redis.store import clusters as cluster_store
from managed_redis.store import users as user_store
from managed_redis.store.clusters import ClusterRecord
from managed_redis.store.users import UserRecord

RequestT = TypeVar("RequestT", bound=Message)
MetadataT = TypeVar("MetadataT", bound=Message)
PERMISSION_PATHS = frozenset(f"permissions.{name}" for name in (*PERMISSION_FIELDS, "sanitize_payload"))
MASK_PATHS = frozenset({"passwords", "enabled", "permissions", "generate_password"}) | PERMISSION_PATHS


def _proto(record: UserRecord) -> user_pb2.User:
    permissions = Permissions.from_json(record.permissions)
    return user_proto(record.cluster_id, record.name, permissions, record.enabled, record.acl_options)


def _missing(cluster_id: str, name: str) -> NotFound:
    return NotFound(f"cluster {cluster_id} has no user {name}")


class UserService(ClusterServiceBase):
    def get(self, request: service_pb.GetUserRequest, caller: Caller) -> user_pb2.User:
        cluster = self._cluster(request.cluster_id, caller, Permission.READ)
        if request.user_name == DEFAULT_USER:
            return default_user_proto(cluster.id, cluster.sharded)
        with self.db.read() as conn:
            record = user_store.get(conn, cluster.id, request.user_name)
        if record is None:
            raise _missing(cluster.id, request.user_name)
        return _proto(record)

    def list(self, request: service_pb.ListUsersRequest, caller: Caller) -> service_pb.ListUsersResponse:
        cluster = self._cluster(request.cluster_id, caller, Permission.READ)
        with self.db.read() as conn:
            records = user_store.list_users(conn, cluster.id)
        users = [default_user_proto(cluster.id, cluster.sharded), *(_proto(record) for record in records)]
        page, token = page_of(users, request.page_size, request.page_token)
        return service_pb.ListUsersResponse(users=page, next_page_token=token)

    def create(self, request: service_pb.CreateUserRequest, caller: Caller) -> operation_pb2.Operation:
        cluster = self._changeable(request.cluster_id, caller, registry.CREATE_USER)
        if not request.HasField("user_spec"):
            raise InvalidArgument.field("user_spec", "required")
        declared, problems = user_of_spec(request.user_spec, "user_spec", _vocabulary(cluster))
        raise_if_any(problems)
        stored = service_pb.CreateUserRequest()
        stored.CopyFrom(request)
        without_passwords([stored.user_spec])
        record = UserRecord(
            cluster.id,
            declared.name,
            declared.password_sha256,
            declared.permissions.to_json(),
            declared.enabled,
            self.queue.clock.now(),
        )

        def change(conn: Connection, before: UserRecord | None) -> None:
            if before is not None:
                raise AlreadyExists(f"cluster {cluster.id} already has a user named {record.name!r}")
            user_store.insert(conn, record)

        metadata = service_pb.CreateUserMetadata(cluster_id=cluster.id, user_name=record.name)
        try:
            return self._submit(caller, registry.CREATE_USER, cluster.id, record.name, stored, metadata, change)
        except IntegrityError:  # a concurrent Create of the same name won
            raise AlreadyExists(f"cluster {cluster.id} already has a user named {record.name!r}") from None

    def update(self, request: service_pb.UpdateUserRequest, caller: Caller) -> operation_pb2.Operation:
        cluster = self._changeable(request.cluster_id, caller, registry.UPDATE_USER)
        if request.user_name == DEFAULT_USER:
            raise FailedPrecondition(
                "the default user follows its cluster: change its password with ClusterService.Update "
                "(config_spec.redis.password); its permissions are fixed"
            )
        with self.db.read() as conn:
            current = user_store.get(conn, cluster.id, request.user_name)
        if current is None:
            raise _missing(cluster.id, request.user_name)
        vocabulary = _vocabulary(cluster)
        updated_user(current, request, vocabulary)  # every refusal before anything is written
        stored = service_pb.UpdateUserRequest()
        stored.CopyFrom(request)
        del stored.passwords[:]

        def change(conn: Connection, before: UserRecord | None) -> None:
            # Worked out again from the user as this transaction reads it: a change finished
            # since the read above is built on, not undone.
            if before is None:
                raise _missing(cluster.id, request.user_name)
            user_store.replace(conn, updated_user(before, request, vocabulary))

        metadata = service_pb.UpdateUserMetadata(cluster_id=cluster.id, user_name=request.user_name)
        return self._submit(caller, registry.UPDATE_USER, cluster.id, request.user_name, stored, metadata, change)

    def delete(self, request: service_pb.DeleteUserRequest, caller: Caller) -> operation_pb2.Operation:
        cluster = self._changeable(request.cluster_id, caller, registry.DELETE_USER)
        if request.user_name == DEFAULT_USER:
            raise FailedPrecondition("the default user belongs to its cluster and cannot be deleted")

        def change(conn: Connection, before: UserRecord | None) -> None:
            if before is None:
                raise _missing(cluster.id, request.user_name)
            user_store.delete(conn, cluster.id, request.user_name)

        metadata = service_pb.DeleteUserMetadata(cluster_id=cluster.id, user_name=request.user_name)
        return self._submit(caller, registry.DELETE_USER, cluster.id, request.user_name, request, metadata, change)

    def _submit(
        self,
        caller: Caller,
        kind: OperationKind[RequestT, MetadataT, Any],
        cluster_id: str,
        name: str,
        stored: RequestT,
        metadata: MetadataT,
        change: Callable[[Connection, UserRecord | None], None],
    ) -> operation_pb2.Operation:
        """Submit ``kind`` for the user ``name`` of ``cluster_id``, in one transaction with ``change``
        (given the user as stored, or None; it checks and writes the user's new row) and with
        the user as it was kept for a cancel (``user_store.record_change``). ``stored``: the
        request without its passwords. Raises NotFound, FailedPrecondition (the cluster's
        status, a conflicting operation) and what ``change`` raises."""
        operation_id = ids.new_id()

        def prepare(conn: Connection) -> Submission:
            current = cluster_store.get(conn, cluster_id)
            if current is None:
                raise NotFound(f"cluster {cluster_id} does not exist")
            require_status(current, change_of(kind))
            before = user_store.get(conn, cluster_id, name)
            change(conn, before)
            user_store.record_change(conn, operation_id, cluster_id, name, before)
            return Submission.of(
                kind, stored, metadata, folder_id=current.folder_id, cluster_id=cluster_id, operation_id=operation_id
            )

        return submit_operation(self.queue, caller, kind, stored, prepare)


def _vocabulary(cluster: ClusterRecord) -> AclVocabulary:
    """The commands and categories a user of ``cluster`` may be given: its version's."""
    return vocabulary_for(config_spec_of(cluster).version)


def updated_user(
    current: UserRecord, request: service_pb.UpdateUserRequest, vocabulary: AclVocabulary = REDIS_7_0
) -> UserRecord:
    """``current`` as ``request`` changes it (see the module docstring for mask and mask-less
    Update). Raises InvalidArgument naming each bad field, Unimplemented for
    ``generate_password``, FailedPrecondition when nothing would change."""
    paths = set(request.update_mask.paths)
    unknown = sorted(paths - MASK_PATHS)
    if unknown:
        raise InvalidArgument.field("update_mask", f"unknown paths: {', '.join(unknown)}")
    masked = bool(paths)
    refuse_generated_password(
        request.generate_password.value and (not masked or "generate_password" in paths), "generate_password"
    )
    problems: list[FieldViolation] = []
    digests = current.password_sha256
    if len(request.passwords) > 1:
        problems.append(FieldViolation("passwords", "only one password may be given"))
    elif request.passwords and (not masked or "passwords" in paths):
        problems += check_password(request.passwords[0], "passwords[0]")
        digests = (sha256(request.passwords[0]),)
    elif "passwords" in paths:
        problems.append(FieldViolation("passwords", "required when update_mask lists passwords"))
    base = Permissions.from_json(current.permissions)
    if not masked or "permissions" in paths:
        permissions, more = permissions_of(request.permissions, "permissions", DEFAULT_PERMISSIONS, None, vocabulary)
    else:
        listed = frozenset(path.split(".", 1)[1] for path in paths & PERMISSION_PATHS)
        permissions, more = permissions_of(request.permissions, "permissions", base, listed, vocabulary)
    raise_if_any(problems + more)
    enabled = request.enabled if (not masked or "enabled" in paths) else current.enabled
    changed = UserRecord(
        current.cluster_id,
        current.name,
        digests,
        permissions.to_json(),
        enabled,
        current.created_at,
        current.acl_options,
    )
    if (changed.password_sha256, changed.permissions, changed.enabled) == (
        current.password_sha256,
        Permissions.from_json(current.permissions).to_json(),
        current.enabled,
    ):
        raise FailedPrecondition("no changes detected")
    return changed
