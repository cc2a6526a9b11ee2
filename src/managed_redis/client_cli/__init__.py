"""The client commands of ``mredis`` (``cluster``, ``backup``, ``user``, ``operation``,
``resource-preset``, ``version``), shaped like ``yc managed-redis``: a client of the REST
API, never of the server's internals.

``add_commands`` puts the groups on ``mredis``'s parser (no HTTP library imported: ``--help``
stays fast); ``run`` runs the parsed command and returns its exit status: 0, or 1 with the
API's message on stderr when a call or its operation failed (argparse exits 2 on usage).
"""

from __future__ import annotations

import argparse
import sys

from managed_redis.client_cli import backups, catalog, cluster_parts, clusters, connect, operations, users
from managed_redis.client_cli.registry import Subparsers, group

GROUPS = ("cluster", "backup", "user", "operation", "resource-preset", "version")


def add_commands(commands: Subparsers) -> None:
    """Add the client command groups to ``mredis``'s subcommands ``commands``."""
    cluster = group(commands, "cluster", "manage clusters, their hosts, shards, backups and logs")
    clusters.register(cluster)
    cluster_parts.register(cluster)
    connect.register(cluster)
    backups.register(group(commands, "backup", "manage backups"))
    users.register(group(commands, "user", "manage a cluster's users"))
    operations.register(group(commands, "operation", "look at and wait for operations"))
    catalog.register_presets(group(commands, "resource-preset", "list host classes"))
    catalog.register_versions(group(commands, "version", "list Redis versions"))


def run(args: argparse.Namespace) -> int:
    """Run the client command ``args`` names; its exit status (0, or 1 after printing the
    API's error message to stderr)."""
    from managed_redis.client_cli.api_client import AnswerError
    from managed_redis.client_cli.session import Session

    try:
        args.handler(Session(args), args)
    except AnswerError as exc:
        print(f"mredis: error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mredis: interrupted (a started operation goes on; see operation get)", file=sys.stderr)
        return 130
    return 0
