"""``mredis cluster list-hosts|add-hosts|delete-hosts|update-hosts|list-shards|add-shard|
delete-shard|rebalance|enable-sharding|list-backups|list-operations|list-logs``: a cluster's
hosts, shards, backups, operations and logs."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from managed_redis.client_cli import specs
from managed_redis.client_cli.output import pick
from managed_redis.client_cli.registry import Subparsers, cluster_argument, command

if TYPE_CHECKING:
    from managed_redis.client_cli.api_client import ApiClient
    from managed_redis.client_cli.session import Session

CLUSTERS = "/managed-redis/v1/clusters"
HOST_COLUMNS = ("name", "shardName", "zoneId", "role", "health", "replicaPriority")
SHARD_COLUMNS = ("name", "clusterId")
BACKUP_COLUMNS = ("id", "sourceClusterId", "type", "createdAt", "startedAt", "sourceShardNames")
OPERATION_COLUMNS = ("id", "description", "createdAt", "modifiedAt", "done", "error.message")
OPERATION_BOOLEANS = ("done",)


def _path(session: Session, args: argparse.Namespace, tail: str = "") -> str:
    return f"{CLUSTERS}/{session.cluster_id(args.cluster)}{tail}"


def _lister(tail: str, key: str, columns: tuple[str, ...], booleans: tuple[str, ...] = ()) -> Any:
    def handler(session: Session, args: argparse.Namespace) -> None:
        session.show(session.client.list_all(_path(session, args, tail), key), columns, booleans)

    return handler


def _show_hosts_after(session: Session, args: argparse.Namespace, tail: str, body: dict[str, Any]) -> None:
    """Run a hosts operation; once done, print the cluster's hosts (its response is empty)."""
    path = _path(session, args)
    if session.mutate("POST", f"{path}{tail}", body) is not None:
        session.show(session.client.list_all(f"{path}/hosts", "hosts"), HOST_COLUMNS)


def _add_hosts(session: Session, args: argparse.Namespace) -> None:
    _show_hosts_after(session, args, "/hosts:batchCreate", {"hostSpecs": args.host})


def _delete_hosts(session: Session, args: argparse.Namespace) -> None:
    _show_hosts_after(session, args, "/hosts:batchDelete", {"hostNames": args.host})


def _update_hosts(session: Session, args: argparse.Namespace) -> None:
    _show_hosts_after(session, args, "/hosts:batchUpdate", {"updateHostSpecs": args.host})


def _add_shard(session: Session, args: argparse.Namespace) -> None:
    body = {"shardName": args.shard_name, "hostSpecs": args.host}
    session.mutate_and_show("POST", _path(session, args, "/shards"), body)


def _delete_shard(session: Session, args: argparse.Namespace) -> None:
    session.mutate_and_show("DELETE", _path(session, args, f"/shards/{args.shard_name}"))


def _verb(verb: str) -> Any:
    def handler(session: Session, args: argparse.Namespace) -> None:
        session.mutate_and_show("POST", _path(session, args, verb))

    return handler


# The largest page ListLogs gives (its page_size is 0-1000).
LOG_PAGE = 1000


def read_logs(client: ApiClient, path: str, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` records of ListLogs on ``path`` (``…/clusters/<id>:logs``) with
    ``query`` (fromTime, toTime, filter, orderBy), reading pages of at most 1,000 and
    following nextPageToken. Raises AnswerError."""
    records: list[dict[str, Any]] = []
    query = dict(query)
    while len(records) < limit:
        query["pageSize"] = min(LOG_PAGE, limit - len(records))
        page = client.call("GET", path, query=query)
        records += page.get("logs", [])
        if not page.get("nextPageToken") or not page.get("logs"):
            break
        query["pageToken"] = page["nextPageToken"]
    return records[:limit]


def record_count(text: str) -> int:
    """``--limit``: a whole number of records, 1 or more. Raises ArgumentTypeError."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of records, 1 or more, not {text!r}")
    return int(text)


def _list_logs(session: Session, args: argparse.Namespace) -> None:
    query = {
        "fromTime": args.since,
        "toTime": args.until,
        "filter": args.filter,
        "orderBy": '[{"field": "TIMESTAMP", "order": "DESC"}]' if args.newest_first else None,
    }
    records = read_logs(session.client, _path(session, args, ":logs"), query, args.limit)
    if session.format != "text":
        session.show(records)
        return
    for record in records:
        message = record.get("message", {})
        text = pick(record, "message.message") or " ".join(f"{k}={v}" for k, v in message.items())
        print(f"{record.get('timestamp', '')} {message.get('hostname', '')} {text}")


def register(sub: Subparsers) -> None:
    """Add this module's commands to the ``cluster`` group ``sub``."""

    def with_cluster(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        cluster_argument(parser)
        return parser

    for name, tail, key, columns, booleans in (
        ("list-hosts", "/hosts", "hosts", HOST_COLUMNS, ()),
        ("list-shards", "/shards", "shards", SHARD_COLUMNS, ()),
        ("list-backups", "/backups", "backups", BACKUP_COLUMNS, ()),
        ("list-operations", "/operations", "operations", OPERATION_COLUMNS, OPERATION_BOOLEANS),
    ):
        with_cluster(command(sub, name, f"list the cluster's {key}", _lister(tail, key, columns, booleans)))
    host_help = "zone-id=...,subnet-id=...,shard-name=...,replica-priority=...; repeat"
    add = with_cluster(command(sub, "add-hosts", "add hosts to a cluster", _add_hosts, mutating=True))
    add.add_argument("--host", type=specs.host_spec, action="append", required=True, help=host_help)
    delete = with_cluster(command(sub, "delete-hosts", "delete hosts of a cluster", _delete_hosts, mutating=True))
    delete.add_argument("--host", action="append", required=True, metavar="HOST_NAME", help="a host's name; repeat")
    update = with_cluster(command(sub, "update-hosts", "change hosts of a cluster", _update_hosts, mutating=True))
    update.add_argument(
        "--host", type=specs.update_host_spec, action="append", required=True,
        help="host-name=...,replica-priority=...,assign-public-ip=...; repeat",
    )  # fmt: skip
    add_shard = with_cluster(command(sub, "add-shard", "add a shard to a sharded cluster", _add_shard, mutating=True))
    add_shard.add_argument("--shard-name", required=True)
    add_shard.add_argument("--host", type=specs.host_spec, action="append", required=True, help=host_help)
    delete_shard = with_cluster(command(sub, "delete-shard", "delete a shard", _delete_shard, mutating=True))
    delete_shard.add_argument("--shard-name", required=True)
    with_cluster(command(sub, "rebalance", "spread slots evenly over the shards", _verb(":rebalance"), mutating=True))
    with_cluster(
        command(sub, "enable-sharding", "turn the cluster into Redis Cluster", _verb(":enable_sharding"), mutating=True)
    )
    logs = with_cluster(command(sub, "list-logs", "show the cluster's Redis logs", _list_logs))
    logs.add_argument("--since", type=specs.moment, help="RFC 3339 time or a span ago (30m, 2h, 1d), inclusive")
    logs.add_argument("--until", type=specs.moment, help="RFC 3339 time or a span ago (30m, 2h, 1d), exclusive")
    logs.add_argument("--filter", help="message.hostname='...' (the API's filter)")
    logs.add_argument("--limit", type=record_count, default=100, help="records at most (default 100)")
    logs.add_argument("--newest-first", action="store_true")
