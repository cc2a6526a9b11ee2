"""``mredis cluster list|get|create|update|delete|start|stop|move|backup|restore|start-failover``:
a cluster's life, shaped like ``yc managed-redis cluster``. Every command but list, create
and restore takes the cluster's id or its name (within ``--folder-id``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from managed_redis.client_cli import specs
from managed_redis.client_cli.registry import Subparsers, cluster_argument, command

if TYPE_CHECKING:
    from managed_redis.client_cli.session import Session

CLUSTERS = "/managed-redis/v1/clusters"
COLUMNS = ("id", "name", "environment", "status", "health", "config.version", "sharded", "createdAt")
BOOLEANS = ("sharded",)


def _list(session: Session, args: argparse.Namespace) -> None:
    clusters = session.client.list_all(CLUSTERS, "clusters", {"folderId": session.folder()})
    session.show(clusters, COLUMNS, BOOLEANS)


def _get(session: Session, args: argparse.Namespace) -> None:
    session.show(session.client.call("GET", f"{CLUSTERS}/{session.cluster_id(args.cluster)}"))


def _create(session: Session, args: argparse.Namespace) -> None:
    body = {"folderId": session.folder(), **specs.new_cluster_body(args)}
    session.mutate_and_show("POST", CLUSTERS, body)


def _restore(session: Session, args: argparse.Namespace) -> None:
    body = {"backupId": args.backup_id, **specs.new_cluster_body(args)}
    if session.folder_id:
        body["folderId"] = session.folder_id
    session.mutate_and_show("POST", f"{CLUSTERS}:restore", body)


# update flags: (dest, the field's JSON path in UpdateClusterRequest); over REST the
# update_mask names the same camelCase paths (api.md §1.3).
_UPDATES = (
    ("new_name", "name"),
    ("description", "description"),
    ("labels", "labels"),
    ("persistence_mode", "persistenceMode"),
    ("deletion_protection", "deletionProtection"),
    ("resource_preset", "configSpec.resources.resourcePresetId"),
    ("disk_size", "configSpec.resources.diskSize"),
    ("disk_type_id", "configSpec.resources.diskTypeId"),
    ("redis_version", "configSpec.version"),
    ("backup_window_start", "configSpec.backupWindowStart"),
    ("password", "configSpec.redis.password"),
)


def update_body(args: argparse.Namespace) -> dict[str, Any]:
    """UpdateClusterRequest JSON from the update flags, its updateMask naming each one given.
    ``--redis-config maxmemoryPolicy=ALLKEYS_LRU`` sets ``configSpec.redis.<key>``."""
    body: dict[str, Any] = {}
    mask: list[str] = []
    for dest, json_path in _UPDATES:
        value = getattr(args, dest)
        if value is None:
            continue
        _put(body, json_path, value)
        mask.append(json_path)
    for key, value in (args.redis_config or {}).items():
        _put(body, f"configSpec.redis.{key}", value)
        mask.append(f"configSpec.redis.{key}")
    body["updateMask"] = ",".join(mask)
    return body


def _put(body: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        body = body.setdefault(part, {})
    body[last] = value


def _update(session: Session, args: argparse.Namespace) -> None:
    body = update_body(args)
    session.mutate_and_show("PATCH", f"{CLUSTERS}/{session.cluster_id(args.cluster)}", body)


def _verb(verb: str, method: str = "POST") -> Any:
    """A handler calling ``method`` on the cluster's path plus ``verb`` (``:start``, ``""``)."""

    def handler(session: Session, args: argparse.Namespace) -> None:
        session.mutate_and_show(method, f"{CLUSTERS}/{session.cluster_id(args.cluster)}{verb}", None)

    return handler


def _move(session: Session, args: argparse.Namespace) -> None:
    body = {"destinationFolderId": args.destination_folder_id}
    session.mutate_and_show("POST", f"{CLUSTERS}/{session.cluster_id(args.cluster)}:move", body)


def _start_failover(session: Session, args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"hostNames": args.hostnames or []}
    session.mutate_and_show("POST", f"{CLUSTERS}/{session.cluster_id(args.cluster)}:startFailover", body)


def _config_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of a cluster's configuration, shared by create, restore and update."""
    parser.add_argument("--description")
    parser.add_argument("--labels", type=specs.labels, help="key=value,... (replaces all labels)")
    parser.add_argument("--resource-preset", help="host class, e.g. hm1.nano (see resource-preset list)")
    parser.add_argument("--disk-size", type=specs.gigabytes, help="disk size of each host, GB")
    parser.add_argument("--disk-type-id", help="network-ssd, local-ssd, ...")
    parser.add_argument("--redis-version", help="7.0, 8.1-valkey, ... (see version list)")
    parser.add_argument(
        "--password", help='password of the default user (from a variable: --password "$REDIS_PASSWORD")'
    )
    parser.add_argument("--persistence-mode", choices=("ON", "OFF", "ON_REPLICAS"))
    parser.add_argument("--backup-window-start", type=specs.time_of_day, help="HH:MM, UTC")
    parser.add_argument(
        "--redis-config",
        type=specs.redis_settings,
        help="Redis settings as key=value,... (maxmemoryPolicy=ALLKEYS_LRU,activedefrag=true)",
    )


def _new_cluster_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of create and restore."""
    parser.add_argument("--name", required=True, help="the cluster's name, unique in its folder")
    parser.add_argument("--environment", choices=("PRODUCTION", "PRESTABLE"), default="PRODUCTION")
    parser.add_argument("--network-id")
    parser.add_argument("--security-group-ids", type=lambda text: [s for s in text.split(",") if s])
    parser.add_argument(
        "--host",
        type=specs.host_spec,
        action="append",
        help="a host: zone-id=...,subnet-id=...,shard-name=...,replica-priority=...,assign-public-ip=...; repeat",
    )
    for flag in ("--sharded", "--tls-enabled", "--deletion-protection", "--announce-hostnames", "--auth-sentinel"):
        parser.add_argument(flag, action="store_true")
    _config_flags(parser)


def register(sub: Subparsers) -> None:
    """Add the cluster commands of this module to the ``cluster`` group ``sub``."""
    command(sub, "list", "list the clusters of the folder", _list)
    cluster_argument(command(sub, "get", "show a cluster", _get))
    _new_cluster_flags(command(sub, "create", "create a cluster", _create, mutating=True))
    update = command(sub, "update", "change a cluster (only the flags given)", _update, mutating=True)
    cluster_argument(update)
    update.add_argument("--new-name")
    update.add_argument("--deletion-protection", type=specs.boolean, metavar="true|false")
    _config_flags(update)
    for name, verb, method, text in (
        ("delete", "", "DELETE", "delete a cluster"),
        ("start", ":start", "POST", "start a stopped cluster"),
        ("stop", ":stop", "POST", "stop a cluster"),
        ("backup", ":backup", "POST", "back a cluster up now"),
    ):
        cluster_argument(command(sub, name, text, _verb(verb, method), mutating=True))
    move = command(sub, "move", "move a cluster to another folder", _move, mutating=True)
    cluster_argument(move)
    move.add_argument("--destination-folder-id", required=True)
    restore = command(sub, "restore", "create a cluster from a backup", _restore, mutating=True)
    restore.add_argument("--backup-id", required=True)
    _new_cluster_flags(restore)
    failover = command(sub, "start-failover", "switch the master to another host", _start_failover, mutating=True)
    cluster_argument(failover)
    failover.add_argument(
        "--hostnames", type=lambda text: [h for h in text.split(",") if h], help="host(s) to switch to, comma-separated"
    )
