"""users.acl: every customer user is denied the commands the cloud makes unavailable, after
its own rules; the control plane's user keeps every command (it migrates slots)."""

from __future__ import annotations

from pathlib import Path

from managed_redis.engine.conf import UNAVAILABLE_CLUSTER_SUBCOMMANDS, UNAVAILABLE_COMMANDS, users_acl
from managed_redis.engine.model import AclUser, Credentials, Node


def node(cluster_mode: bool, users: tuple[AclUser, ...] = ()) -> Node:
    return Node(
        name="h",
        address="127.9.0.1",
        directory=Path("/nonexistent"),
        binary="redis-server",
        credentials=Credentials(password="customer-pw", admin_user="mredis", admin_password="admin-pw"),
        cluster_mode=cluster_mode,
        users=users,
    )


def rules(acl: str) -> dict[str, list[str]]:
    return {line.split()[1]: line.split()[2:] for line in acl.splitlines()}


def test_customer_users_lose_the_unavailable_commands_after_their_own_rules() -> None:
    extra = AclUser("app", ("0" * 64,), "~app:* +@all +migrate")
    users = rules(users_acl(node(False, (extra,))))
    for name in ("default", "app"):
        tokens = users[name]
        assert "-migrate" in tokens and "-object" in tokens and "-move" in tokens
        assert {f"-{c}" for c in UNAVAILABLE_COMMANDS} <= set(tokens)
        # The denial comes after anything the user's rules grant, so it wins.
        assert tokens.index("-migrate") > max(i for i, t in enumerate(tokens) if t.startswith("+"))
    assert users["mredis"][-1] == "+@all" and not any(t.startswith("-") for t in users["mredis"])


def test_sharded_customers_also_lose_the_cluster_admin_subcommands() -> None:
    sharded = rules(users_acl(node(True)))["default"]
    assert {f"-cluster|{s}" for s in UNAVAILABLE_CLUSTER_SUBCOMMANDS} <= set(sharded)
    assert not any(t.startswith("-cluster|") for t in rules(users_acl(node(False)))["default"])
