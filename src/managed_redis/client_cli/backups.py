"""``mredis backup list|get|delete``: the folder's backups."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from managed_redis.client_cli.cluster_parts import BACKUP_COLUMNS
from managed_redis.client_cli.registry import Subparsers, command

if TYPE_CHECKING:
    from managed_redis.client_cli.session import Session

BACKUPS = "/managed-redis/v1/backups"


def _list(session: Session, args: argparse.Namespace) -> None:
    session.show(session.client.list_all(BACKUPS, "backups", {"folderId": session.folder()}), BACKUP_COLUMNS)


def _get(session: Session, args: argparse.Namespace) -> None:
    session.show(session.client.call("GET", f"{BACKUPS}/{args.backup_id}"))


def _delete(session: Session, args: argparse.Namespace) -> None:
    session.mutate_and_show("DELETE", f"{BACKUPS}/{args.backup_id}")


def register(sub: Subparsers) -> None:
    """Add the backup commands to the ``backup`` group ``sub``."""
    command(sub, "list", "list the folder's backups", _list)
    command(sub, "get", "show a backup", _get).add_argument("backup_id", metavar="BACKUP_ID")
    command(sub, "delete", "delete a backup", _delete, mutating=True).add_argument("backup_id", metavar="BACKUP_ID")
