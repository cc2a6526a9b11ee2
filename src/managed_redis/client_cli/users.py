"""``mredis user list|get|create|update|delete``: a cluster's ACL users (``--cluster`` takes
the cluster's id or its name within ``--folder-id``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from managed_redis.client_cli.registry import Subparsers, cluster_argument, command

if TYPE_CHECKING:
    from managed_redis.client_cli.session import Session

COLUMNS = ("name", "enabled", "permissions.patterns", "permissions.categories", "permissions.commands")
BOOLEANS = ("enabled",)
# Permission flags: (dest, Permissions JSON field); the REST update_mask names it as
# permissions.<field> (camelCase, api.md §1.3).
_PERMISSIONS = (
    ("patterns", "patterns"),
    ("pub_sub_channels", "pubSubChannels"),
    ("categories", "categories"),
    ("commands", "commands"),
)


def _users(session: Session, args: argparse.Namespace) -> str:
    return f"/managed-redis/v1/clusters/{session.cluster_id(args.cluster)}/users"


def permissions(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    """The Permissions JSON from the flags given, and the update_mask paths they set."""
    given = {json: getattr(args, dest) for dest, json in _PERMISSIONS if getattr(args, dest) is not None}
    return given, [f"permissions.{json}" for json in given]


def _list(session: Session, args: argparse.Namespace) -> None:
    session.show(session.client.list_all(_users(session, args), "users"), COLUMNS, BOOLEANS)


def _get(session: Session, args: argparse.Namespace) -> None:
    session.show(session.client.call("GET", f"{_users(session, args)}/{args.name}"))


def _create(session: Session, args: argparse.Namespace) -> None:
    spec: dict[str, Any] = {"name": args.name, "enabled": not args.disabled, "permissions": permissions(args)[0]}
    if args.password is not None:
        spec["passwords"] = [args.password]
    session.mutate_and_show("POST", _users(session, args), {"userSpec": spec}, COLUMNS)


def _update(session: Session, args: argparse.Namespace) -> None:
    given, mask = permissions(args)
    body: dict[str, Any] = {"permissions": given} if given else {}
    if args.password is not None:
        body["passwords"] = [args.password]
        mask.append("passwords")
    if args.enabled is not None:
        body["enabled"] = args.enabled
        mask.append("enabled")
    body["updateMask"] = ",".join(mask)
    session.mutate_and_show("PATCH", f"{_users(session, args)}/{args.name}", body)


def _delete(session: Session, args: argparse.Namespace) -> None:
    session.mutate_and_show("DELETE", f"{_users(session, args)}/{args.name}")


def _target(parser: argparse.ArgumentParser, with_name: bool = True) -> argparse.ArgumentParser:
    cluster_argument(parser, "--cluster")
    if with_name:
        parser.add_argument("name", metavar="USER")
    return parser


def _spec_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password", help="the user's password")
    parser.add_argument("--patterns", help="key patterns, ACL syntax: '~app:* ~cache:*'")
    parser.add_argument("--pub-sub-channels", help="channels, ACL syntax: '&*'")
    parser.add_argument("--categories", help="command categories, ACL syntax: '+@read -@dangerous'")
    parser.add_argument("--commands", help="commands, ACL syntax: '+get +set'")


def register(sub: Subparsers) -> None:
    """Add the user commands to the ``user`` group ``sub``."""
    _target(command(sub, "list", "list a cluster's users", _list), with_name=False)
    _target(command(sub, "get", "show a user", _get))
    create = _target(command(sub, "create", "create a user", _create, mutating=True))
    _spec_flags(create)
    create.add_argument("--disabled", action="store_true", help="create it disabled")
    update = _target(command(sub, "update", "change a user (only the flags given)", _update, mutating=True))
    _spec_flags(update)
    update.add_argument("--enabled", type=lambda t: t.lower() == "true", metavar="true|false")
    _target(command(sub, "delete", "delete a user", _delete, mutating=True))
