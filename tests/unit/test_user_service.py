"""UserService over a real store and the fake engine: who may do what, Update's mask and
mask-less meanings, refusals that change nothing, and the handler that brings every host to
the stored users; no password is ever stored, in the users table or in an operation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from google.protobuf import field_mask_pb2, wrappers_pb2
from google.rpc import code_pb2
from yandex.cloud.mdb.redis.v1 import user_pb2
from yandex.cloud.mdb.redis.v1 import user_service_pb2 as us
from yandex.cloud.operation.operation_pb2 import Operation
from yandex.cloud.operation.operation_service_pb2 import CancelOperationRequest

from managed_redis.engine.facts import ProcessState
from managed_redis.engine.model import Node
from managed_redis.errors import (
    AlreadyExists,
    ApiError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unimplemented,
)
from managed_redis.operations import registry
from managed_redis.operations.handlers import users as user_handlers
from managed_redis.operations.submit import OperationQueue
from managed_redis.operations.worker import Worker
from managed_redis.services.access import Principal
from managed_redis.services.context import Caller
from managed_redis.services.operations import OperationService
from managed_redis.services.users import UserService
from managed_redis.store import users as user_store
from managed_redis.store.users import UserRecord
from tests.support.fake_world import World, make_world

ADMIN = Caller(Principal("admin", admin_everywhere=True), request_id="r1")
VIEWER = Caller(Principal("viewer", {"folder1": frozenset({"managed-redis.viewer"})}), request_id="r2")
EDITOR = Caller(Principal("editor", {"folder1": frozenset({"managed-redis.editor"})}), request_id="r3")
OUTSIDER = Caller(Principal("outsider", {"folder2": frozenset({"managed-redis.admin"})}), request_id="r4")
PASSWORD = "App-Password-1"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = make_world(tmp_path)
    world.add_cluster("c1")
    yield world
    world.db.dispose()


def service(world: World) -> UserService:
    return UserService(world.db, OperationQueue(world.db, world.clock), world.deps)


def run_all(world: World) -> None:
    worker = Worker(world.db, {k.name: k for k in registry.KINDS}, world.deps, clock=world.clock)
    while worker.run_one("test"):
        pass


def strings(**fields: str) -> user_pb2.Permissions:
    return user_pb2.Permissions(**{name: wrappers_pb2.StringValue(value=value) for name, value in fields.items()})


def create(world: World, name: str = "app", caller: Caller = EDITOR, **permissions: str) -> None:
    spec = user_pb2.UserSpec(name=name, passwords=[PASSWORD], permissions=strings(**permissions))
    service(world).create(us.CreateUserRequest(cluster_id="c1", user_spec=spec), caller)
    run_all(world)


def update(world: World, paths: list[str] | None = None, **fields: object) -> user_pb2.User:
    request = us.UpdateUserRequest(cluster_id="c1", user_name="app", **fields)  # type: ignore[arg-type]
    if paths is not None:
        request.update_mask.CopyFrom(field_mask_pb2.FieldMask(paths=paths))
    service(world).update(request, EDITOR)
    run_all(world)
    return service(world).get(us.GetUserRequest(cluster_id="c1", user_name="app"), VIEWER)


def test_editors_change_users_viewers_read_them_others_see_nothing(world: World) -> None:
    with pytest.raises(PermissionDenied):
        create(world, caller=VIEWER)
    with pytest.raises(NotFound):
        create(world, caller=OUTSIDER)
    create(world, caller=EDITOR, patterns="~app:*", commands="+get +set")
    got = service(world).get(us.GetUserRequest(cluster_id="c1", user_name="app"), VIEWER)
    assert got.permissions.commands.value == "+get +set" and got.acl_options.startswith("on ~app:*")
    listed = service(world).list(us.ListUsersRequest(cluster_id="c1"), VIEWER)
    assert [u.name for u in listed.users] == ["default", "app"]
    with pytest.raises(NotFound):
        service(world).get(us.GetUserRequest(cluster_id="c1", user_name="app"), OUTSIDER)
    with pytest.raises(PermissionDenied):
        service(world).delete(us.DeleteUserRequest(cluster_id="c1", user_name="app"), VIEWER)


def test_every_host_gets_the_users_and_a_stopped_one_its_file(world: World) -> None:
    world.engine.hosts["c1-h3"].process = ProcessState.GONE
    create(world, patterns="~app:*", commands="+get")
    assert sorted(world.engine.called("apply_users")) == ["c1-h1", "c1-h2", "c1-h3"]
    assert all("app" in host.users for host in world.engine.hosts.values())
    service(world).delete(us.DeleteUserRequest(cluster_id="c1", user_name="app"), EDITOR)
    run_all(world)
    assert all(host.users == {} for host in world.engine.hosts.values())


def test_no_password_is_stored_anywhere(world: World) -> None:
    create(world)
    update(world, ["passwords"], passwords=["App-Password-2"])
    with world.db.read() as conn:
        stored = user_store.get(conn, "c1", "app")
        raw = b"".join(row[0] for row in conn.exec_driver_sql("SELECT request FROM operations").fetchall())
    assert stored is not None and len(stored.password_sha256) == 1 and len(stored.password_sha256[0]) == 64
    assert b"App-Password" not in raw


def test_masked_update_changes_only_the_listed_paths(world: World) -> None:
    create(world, patterns="~app:*", commands="+get", categories="+@read")
    got = update(world, ["permissions.commands"], permissions=strings(commands="+set"))
    assert (got.permissions.patterns.value, got.permissions.commands.value) == ("~app:*", "+set")
    assert got.permissions.categories.value == "+@read" and got.enabled
    # A listed field the request leaves out takes its default.
    got = update(world, ["permissions.categories"])
    assert got.permissions.categories.value == "" and got.permissions.commands.value == "+set"
    got = update(world, ["enabled"], enabled=False)
    assert not got.enabled and got.acl_options.startswith("off ") and got.permissions.commands.value == "+set"


def test_maskless_update_is_the_whole_new_state_but_keeps_the_password(world: World) -> None:
    create(world, patterns="~app:*", commands="+get")
    with world.db.read() as conn:
        before = user_store.get(conn, "c1", "app")
    got = update(world, None, permissions=strings(commands="+set"))
    assert got.permissions.patterns.value == "allkeys" and got.permissions.commands.value == "+set"
    assert not got.enabled  # a plain bool left out is false
    with world.db.read() as conn:
        after = user_store.get(conn, "c1", "app")
    assert before is not None and after is not None and after.password_sha256 == before.password_sha256


@pytest.mark.parametrize(
    ("paths", "fields", "error", "words"),
    [
        (["passwords"], {}, InvalidArgument, "passwords: required"),
        (["passwords"], {"passwords": ["short"]}, InvalidArgument, "passwords[0]"),
        (["passwords"], {"passwords": ["a" * 10, "b" * 10]}, InvalidArgument, "only one"),
        (["nonsense"], {}, InvalidArgument, "update_mask"),
        (
            ["permissions.commands"],
            {"permissions": strings(commands="+debug")},
            InvalidArgument,
            "permissions.commands",
        ),
        (["passwords"], {"passwords": [PASSWORD]}, FailedPrecondition, "no changes"),
        (["permissions.commands"], {"permissions": strings(commands="+get")}, FailedPrecondition, "no changes"),
        (["generate_password"], {"generate_password": wrappers_pb2.BoolValue(value=True)}, Unimplemented, "generate"),
    ],
)
def test_bad_updates_are_refused_and_change_nothing(
    world: World, paths: list[str], fields: dict[str, object], error: type[ApiError], words: str
) -> None:
    create(world, commands="+get")
    with world.db.read() as conn:
        before = user_store.get(conn, "c1", "app")
    with pytest.raises(error) as refused:
        update(world, paths, **fields)
    assert words in refused.value.message
    with world.db.read() as conn:
        assert user_store.get(conn, "c1", "app") == before
        assert world.cluster("c1").active_operation_id is None


def test_refusals_of_create_and_delete(world: World) -> None:
    create(world)
    with pytest.raises(AlreadyExists):
        create(world)
    with pytest.raises(InvalidArgument, match="reserved"):
        create(world, name="default")
    with pytest.raises(InvalidArgument, match="user_spec"):
        service(world).create(us.CreateUserRequest(cluster_id="c1"), EDITOR)
    with pytest.raises(FailedPrecondition):
        service(world).delete(us.DeleteUserRequest(cluster_id="c1", user_name="default"), EDITOR)
    with pytest.raises(FailedPrecondition):
        service(world).update(us.UpdateUserRequest(cluster_id="c1", user_name="default"), EDITOR)
    with pytest.raises(NotFound):
        service(world).delete(us.DeleteUserRequest(cluster_id="c1", user_name="ghost"), EDITOR)
    listed = service(world).list(us.ListUsersRequest(cluster_id="c1"), VIEWER)
    assert [u.name for u in listed.users] == ["default", "app"]


def test_one_change_at_a_time(world: World) -> None:
    create(world)
    service(world).update(
        us.UpdateUserRequest(
            cluster_id="c1", user_name="app", update_mask=field_mask_pb2.FieldMask(paths=["enabled"]), enabled=False
        ),
        EDITOR,
    )
    with pytest.raises(FailedPrecondition, match="Conflicting operation"):
        service(world).delete(us.DeleteUserRequest(cluster_id="c1", user_name="app"), EDITOR)
    run_all(world)


def test_a_change_cancelled_before_it_starts_leaves_the_user_as_it_was(world: World) -> None:
    operations = OperationService(world.db, world.clock)

    def cancel(operation: Operation) -> None:
        cancelled = operations.cancel(CancelOperationRequest(operation_id=operation.id), EDITOR)
        assert cancelled.done and cancelled.error.code == code_pb2.CANCELLED

    def stored() -> UserRecord | None:
        with world.db.read() as conn:
            return user_store.get(conn, "c1", "app")

    spec = user_pb2.UserSpec(name="app", passwords=[PASSWORD])
    cancel(service(world).create(us.CreateUserRequest(cluster_id="c1", user_spec=spec), EDITOR))
    assert stored() is None
    create(world, commands="+get")
    before = stored()
    mask = field_mask_pb2.FieldMask(paths=["passwords", "enabled"])
    changing = us.UpdateUserRequest(cluster_id="c1", user_name="app", update_mask=mask, passwords=["Other-Pass-1"])
    cancel(service(world).update(changing, EDITOR))
    assert stored() == before
    cancel(service(world).delete(us.DeleteUserRequest(cluster_id="c1", user_name="app"), EDITOR))
    assert stored() == before
    assert world.cluster("c1").active_operation_id is None


def test_a_silent_host_is_asked_again_then_left_for_its_restart(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(user_handlers, "ASK_AGAIN_AFTER_S", 0.0)
    silences = {"c1-h2": 1, "c1-h3": 99}  # how many times each stays silent
    answer = world.engine.apply_users

    def flaky(node: Node) -> dict[str, str] | None:
        if silences.get(node.name, 0) > 0:
            silences[node.name] -= 1
            raise redis.exceptions.TimeoutError(f"{node.name} is slow")
        return answer(node)

    monkeypatch.setattr(world.engine, "apply_users", flaky)
    create(world, commands="+get")
    got = service(world).get(us.GetUserRequest(cluster_id="c1", user_name="app"), VIEWER)
    assert got.acl_options.startswith("on ")  # the operation succeeded
    assert "app" in world.engine.hosts["c1-h2"].users  # asked again, it answered
    assert silences["c1-h3"] == 97  # asked twice, then left to the supervisor
    with world.db.read() as conn:
        assert user_store.pending_hosts(conn) == {"c1": frozenset({"c1-h3"})}  # h2 answered: not marked
