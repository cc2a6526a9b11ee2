"""How client commands are declared: each group module adds its commands with ``command()``,
every command taking the shared options (``--endpoint``, ``--token``, ``--folder-id``,
``--format``; mutating ones ``--async`` too) and naming its handler. A command on a cluster
takes it with ``cluster_argument``, whose TAB completion offers the folder's cluster names.

Nothing here talks HTTP: building the parser stays fast (``mredis --help``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from managed_redis.client_cli.completion import cluster_names
from managed_redis.client_cli.output import FORMATS

if TYPE_CHECKING:
    from managed_redis.client_cli.session import Session

Handler = Callable[["Session", argparse.Namespace], None]
Subparsers = Any  # argparse's _SubParsersAction, private in typeshed's eyes


def common_options() -> argparse.ArgumentParser:
    """The options every client command takes."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection and output")
    group.add_argument("--endpoint", help="REST address of the API (MREDIS_ENDPOINT; default the local server)")
    group.add_argument("--token", help="bearer token (MREDIS_TOKEN; default the local admin-token file)")
    group.add_argument("--folder-id", help="folder of the command (MREDIS_FOLDER_ID; names resolve within it)")
    group.add_argument("--format", choices=FORMATS, default="text", help="output format (default text)")
    return common


def async_option() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--async", dest="run_async", action="store_true", help="print the operation at once instead of waiting"
    )
    return parser


COMMON = common_options()
ASYNC = async_option()


def command(sub: Subparsers, name: str, text: str, handler: Handler, mutating: bool = False) -> argparse.ArgumentParser:
    """Add the command ``name`` to ``sub`` with the shared options; ``handler`` runs it."""
    parents = [COMMON, ASYNC] if mutating else [COMMON]
    parser: argparse.ArgumentParser = sub.add_parser(name, help=text, description=text, parents=parents)
    parser.set_defaults(handler=handler)
    return parser


def cluster_argument(parser: argparse.ArgumentParser, option: str | None = None) -> None:
    """Add the cluster a command works on to ``parser``: the positional CLUSTER, or the required
    ``option`` (``--cluster``); either takes an id or a name within --folder-id, and the shell
    completes it with the folder's cluster names (``completion.cluster_names``)."""
    text = "the cluster's id, or its name within --folder-id"
    if option is None:
        action = parser.add_argument("cluster", metavar="CLUSTER", help=text)
    else:
        action = parser.add_argument(option, dest="cluster", required=True, help=text)
    action.completer = cluster_names  # type: ignore[attr-defined]  # argcomplete reads it


def group(sub: Subparsers, name: str, text: str) -> Subparsers:
    """Add the command group ``name`` (``cluster``, ``backup``…); its subcommands' adder."""
    parser = sub.add_parser(name, help=text, description=text)
    return parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
