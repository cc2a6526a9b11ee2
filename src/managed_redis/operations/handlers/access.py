"""Handlers that change a cluster's access bindings (roles granted on the cluster itself)."""

from __future__ import annotations

from google.protobuf.message import Message
from yandex.cloud.access import access_pb2

from managed_redis.operations.context import OperationContext
from managed_redis.store import access as access_store
from managed_redis.store.access import Binding

Action = access_pb2.AccessBindingAction


def _binding(proto: access_pb2.AccessBinding) -> Binding:
    return Binding(proto.subject.id, proto.role_id, proto.subject.type or "userAccount")


def _delta(action: int, binding: Binding) -> access_pb2.AccessBindingDelta:
    return access_pb2.AccessBindingDelta(
        action=action,  # type: ignore[arg-type]
        access_binding=access_pb2.AccessBinding(
            role_id=binding.role_id, subject=access_pb2.Subject(id=binding.subject_id, type=binding.subject_type)
        ),
    )


def _apply(
    ctx: OperationContext[Message], wanted_add: set[Binding], wanted_remove: set[Binding], replace: bool
) -> access_pb2.AccessBindingsOperationResult:
    result = access_pb2.AccessBindingsOperationResult()
    with ctx.db.write() as conn:
        current = set(access_store.list_bindings(conn, ctx.cluster_id))
        current_keys = {(b.subject_id, b.role_id): b for b in current}
        wanted_keys = {(b.subject_id, b.role_id) for b in wanted_add}
        removals = [b for b in current if (replace and (b.subject_id, b.role_id) not in wanted_keys)]
        removals += [current_keys[k] for k in {(b.subject_id, b.role_id) for b in wanted_remove} if k in current_keys]
        for binding in sorted(set(removals)):
            access_store.remove(conn, ctx.cluster_id, binding)
            result.effective_deltas.append(_delta(Action.REMOVE, binding))
        for binding in sorted(wanted_add):
            if (binding.subject_id, binding.role_id) not in current_keys:
                access_store.add(conn, ctx.cluster_id, binding)
                result.effective_deltas.append(_delta(Action.ADD, binding))
    return result


def set_access_bindings(
    ctx: OperationContext[access_pb2.SetAccessBindingsRequest],
) -> access_pb2.AccessBindingsOperationResult:
    request = ctx.request
    return _apply(ctx, {_binding(b) for b in request.access_bindings}, set(), replace=True)


def update_access_bindings(
    ctx: OperationContext[access_pb2.UpdateAccessBindingsRequest],
) -> access_pb2.AccessBindingsOperationResult:
    request = ctx.request
    add = {_binding(d.access_binding) for d in request.access_binding_deltas if d.action == Action.ADD}
    remove = {_binding(d.access_binding) for d in request.access_binding_deltas if d.action == Action.REMOVE}
    return _apply(ctx, add, remove, replace=False)
