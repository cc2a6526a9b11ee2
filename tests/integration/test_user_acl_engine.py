"""The engine's ``apply_users`` against a real redis-server: the declared users are what Redis
holds, live and after a restart; a password change keeps connections; a disabled or removed
user's connections are closed; and every permission domain/users.py accepts is a rule Redis
takes (a rule it refused would stop a host from starting)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from managed_redis.domain.users import Permissions
from managed_redis.engine.conf import sha256
from managed_redis.engine.local import LocalEngine
from managed_redis.engine.model import AclUser, Credentials, Node
from tests.support.lone_node import lone_node
from tests.unit.test_user_permissions import ACCEPTED

APP = Permissions(patterns="~app:*", commands="+get +set")


def user(name: str, password: str, permissions: Permissions = APP, enabled: bool = True) -> AclUser:
    return AclUser(name, (sha256(password),), permissions.acl_rules(), enabled)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[LocalEngine, Node]]:
    with lone_node(tmp_path, Credentials("customer-pw1", "admin-pw-1")) as node:
        engine = LocalEngine()
        engine.ensure_node(node)
        yield engine, node


def connect(node: Node, name: str, password: str) -> redis.Redis:
    return redis.Redis(host=node.address, username=name, password=password, decode_responses=True, socket_timeout=5)


def test_a_user_can_do_exactly_what_it_was_granted(node: tuple[LocalEngine, Node]) -> None:
    engine, plain = node
    declared = replace(plain, users=(user("app", "app-password-1"),))
    described = engine.apply_users(declared)
    assert described is not None and described["app"].startswith("on ")
    app = connect(declared, "app", "app-password-1")
    assert app.set("app:1", "x") and app.get("app:1") == "x"
    for command in (("GET", "other:1"), ("FLUSHALL",), ("CONFIG", "GET", "maxmemory"), ("DEL", "app:1")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            app.execute_command(*command)
    # The customer's default user and the control plane keep their passwords.
    assert connect(declared, "default", "customer-pw1").ping()
    assert engine.admin(declared).ping()
    # Kept: after a restart from its files the user is still there, as it was.
    engine.stop_node(declared)
    engine.ensure_node(declared)
    assert connect(declared, "app", "app-password-1").get("app:1") == "x"


def test_password_change_keeps_connections_and_takes_effect_at_once(node: tuple[LocalEngine, Node]) -> None:
    engine, plain = node
    engine.apply_users(replace(plain, users=(user("app", "old-password-1"),)))
    open_connection = connect(plain, "app", "old-password-1")
    assert open_connection.set("app:k", "1")
    engine.apply_users(replace(plain, users=(user("app", "new-password-1"),)))
    assert open_connection.get("app:k") == "1"  # the same connection goes on
    assert connect(plain, "app", "new-password-1").get("app:k") == "1"
    with pytest.raises(redis.exceptions.AuthenticationError):
        connect(plain, "app", "old-password-1").execute_command("AUTH", "app", "old-password-1")


def test_a_disabled_or_removed_user_is_refused_and_disconnected(node: tuple[LocalEngine, Node]) -> None:
    engine, plain = node
    engine.apply_users(replace(plain, users=(user("a", "a-password-1"), user("b", "b-password-1"))))
    a, b = connect(plain, "a", "a-password-1"), connect(plain, "b", "b-password-1")
    assert a.set("app:a", "1") and b.set("app:b", "1")
    described = engine.apply_users(replace(plain, users=(user("a", "a-password-1", enabled=False),)))
    assert described is not None and set(described) == {"a"} and described["a"].startswith("off ")
    for connection, name, password in ((a, "a", "a-password-1"), (b, "b", "b-password-1")):
        with pytest.raises(redis.exceptions.ConnectionError):
            connection.get("app:a")  # closed by the server; redis-py does not retry by default
        with pytest.raises(redis.exceptions.AuthenticationError):
            connect(plain, name, password).execute_command("AUTH", name, password)
    held = engine.admin(plain).execute_command("ACL", "USERS")
    assert sorted(n.decode() if isinstance(n, bytes) else n for n in held) == ["a", "default", "mredis"]


def test_a_node_that_is_not_running_gets_its_users_when_it_starts(node: tuple[LocalEngine, Node]) -> None:
    engine, plain = node
    engine.stop_node(plain)
    declared = replace(plain, users=(user("app", "app-password-1"),))
    assert engine.apply_users(declared) is None
    engine.ensure_node(declared)
    assert connect(declared, "app", "app-password-1").set("app:x", "1")


def test_every_accepted_permission_is_a_rule_redis_takes(node: tuple[LocalEngine, Node]) -> None:
    engine, plain = node
    fields = [(field, value) for field, value in ACCEPTED if field != "sanitize_payload"]
    users = tuple(
        user(f"u{number}", "password-1", Permissions(**{field: value})) for number, (field, value) in enumerate(fields)
    )
    described = engine.apply_users(replace(plain, users=users))
    assert described is not None and len(described) == len(users)
    # ... and a restart reads them back from users.acl.
    engine.stop_node(plain)
    engine.ensure_node(replace(plain, users=users))
    held = {n.decode() if isinstance(n, bytes) else n for n in engine.admin(plain).execute_command("ACL", "USERS")}
    assert {u.name for u in users} <= held
