"""``mredis operation get|list|wait``: operations by id, a cluster's operations, waiting."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from managed_redis.client_cli import waiting
from managed_redis.client_cli.cluster_parts import OPERATION_BOOLEANS, OPERATION_COLUMNS
from managed_redis.client_cli.output import without_type
from managed_redis.client_cli.registry import Subparsers, cluster_argument, command

if TYPE_CHECKING:
    from managed_redis.client_cli.session import Session


def _get(session: Session, args: argparse.Namespace) -> None:
    session.show(session.client.call("GET", f"/operations/{args.operation_id}"))


def _list(session: Session, args: argparse.Namespace) -> None:
    path = f"/managed-redis/v1/clusters/{session.cluster_id(args.cluster)}/operations"
    session.show(session.client.list_all(path, "operations"), OPERATION_COLUMNS, OPERATION_BOOLEANS)


def _wait(session: Session, args: argparse.Namespace) -> None:
    operation = session.client.call("GET", f"/operations/{args.operation_id}")
    done = waiting.wait(session.client, operation, sys.stderr)
    response = without_type(done.get("response") or {})
    if response or session.format != "text":
        session.show(response)


def register(sub: Subparsers) -> None:
    """Add the operation commands to the ``operation`` group ``sub``."""
    command(sub, "get", "show an operation", _get).add_argument("operation_id", metavar="OPERATION_ID")
    listing = command(sub, "list", "list a cluster's operations, newest first", _list)
    cluster_argument(listing, "--cluster")
    wait = command(sub, "wait", "wait for an operation; print its result", _wait)
    wait.add_argument("operation_id", metavar="OPERATION_ID")
