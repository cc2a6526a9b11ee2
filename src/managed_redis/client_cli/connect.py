"""``mredis cluster connect CLUSTER``: ready-to-paste connection strings for a cluster.

``redis-cli`` (``--tls --cacert`` for a TLS cluster, ``-c`` for a sharded one), redis-py's
standalone, Sentinel and RedisCluster clients, and the Sentinel addresses and master name.
The password is never printed: the strings read it from ``$REDIS_PASSWORD`` (redis-cli
from ``REDISCLI_AUTH``, set from it). Ports are the service's (api.md §7): 6379 plain,
6380 TLS, 26379 Sentinel; Sentinel's master name is the cluster's name. A cluster whose
hosts do not serve now (stopped, stopping, starting, being created, failed) gets the strings
all the same, and a warning on stderr saying why they reach nothing yet (``not_serving``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from managed_redis.client_cli.registry import Subparsers, cluster_argument, command

if TYPE_CHECKING:
    from managed_redis.client_cli.session import Session

CLUSTERS = "/managed-redis/v1/clusters"
PLAIN_PORT, TLS_PORT, SENTINEL_PORT = 6379, 6380, 26379
PASSWORD_VARIABLE = "REDIS_PASSWORD"


def default_ca_path() -> str:
    """The service CA of the local server: ``<data dir>/tls/ca.pem``."""
    from managed_redis.settings import default_data_dir

    data_dir = Path(os.environ["MREDIS_DATA_DIR"]) if os.environ.get("MREDIS_DATA_DIR") else default_data_dir()
    return str(data_dir / "tls" / "ca.pem")


def connection_strings(cluster: dict[str, Any], hosts: list[dict[str, Any]], ca_path: str) -> dict[str, Any]:
    """How to reach ``cluster`` (its API JSON) through ``hosts`` (ListHosts' hosts): a dict of
    ``redisCli`` (a shell line), ``redisPy`` (Python snippets by client) and, on a
    non-sharded cluster, ``sentinel`` (``masterName``, ``addresses``)."""
    tls = bool(cluster.get("tlsEnabled"))
    port = TLS_PORT if tls else PLAIN_PORT
    names = [h["name"] for h in hosts]
    master = next((h["name"] for h in hosts if h.get("role") == "MASTER"), names[0] if names else "")
    tls_cli = f" --tls --cacert {ca_path}" if tls else ""
    tls_py = f", ssl=True, ssl_ca_certs={ca_path!r}" if tls else ""
    password = f'os.environ["{PASSWORD_VARIABLE}"]'
    result: dict[str, Any] = {"passwordVariable": PASSWORD_VARIABLE}
    if cluster.get("sharded"):
        result["redisCli"] = f'REDISCLI_AUTH="${PASSWORD_VARIABLE}" redis-cli -c -h {master} -p {port}{tls_cli}'
        nodes = ", ".join(f"ClusterNode({n!r}, {port})" for n in names)
        result["redisPy"] = {
            "cluster": "import os\nfrom redis.cluster import RedisCluster, ClusterNode\n"
            f"client = RedisCluster(startup_nodes=[{nodes}], password={password}{tls_py})"
        }
        return result
    result["redisCli"] = f'REDISCLI_AUTH="${PASSWORD_VARIABLE}" redis-cli -h {master} -p {port}{tls_cli}'
    sentinels = ", ".join(f"({n!r}, {SENTINEL_PORT})" for n in names)
    name = cluster["name"]
    result["redisPy"] = {
        "standalone": "import os, redis\n"
        f"client = redis.Redis(host={master!r}, port={port}, password={password}{tls_py})",
        "sentinel": "import os\nfrom redis.sentinel import Sentinel\n"
        f"sentinel = Sentinel([{sentinels}])\n"
        f"client = sentinel.master_for({name!r}, password={password}{tls_py})",
    }
    result["sentinel"] = {"masterName": name, "addresses": [f"{n}:{SENTINEL_PORT}" for n in names]}
    return result


# Statuses in which a cluster's hosts serve clients (an update restarts them one at a time).
SERVING = ("RUNNING", "UPDATING")


def not_serving(cluster: dict[str, Any]) -> str | None:
    """Why the strings of ``cluster`` (its API JSON) reach nothing now, or None if they do."""
    status = cluster.get("status", "STATUS_UNKNOWN")
    if status in SERVING:
        return None
    name = cluster.get("name") or cluster.get("id")
    if status == "STOPPED":
        return (
            f"cluster {name} is STOPPED: these strings reach nothing until it is started (mredis cluster start {name})"
        )
    return f"cluster {name} is {status}: its hosts may not answer these strings yet"


def as_text(cluster: dict[str, Any], strings: dict[str, Any]) -> str:
    """The connection strings as a user reads them."""
    kind = "Redis Cluster" if cluster.get("sharded") else "Sentinel"
    lines = [
        f"# {cluster['name']} ({cluster['id']}): {kind}{', TLS' if cluster.get('tlsEnabled') else ''}",
        f"# the password is not shown: export {PASSWORD_VARIABLE}='<the cluster password>' first",
        "",
        "# redis-cli",
        strings["redisCli"],
    ]
    for client, snippet in strings["redisPy"].items():
        lines += ["", f"# redis-py, {client}", snippet]
    if "sentinel" in strings:
        sentinel = strings["sentinel"]
        lines += ["", f"# Sentinel: master name {sentinel['masterName']}", *sentinel["addresses"]]
    return "\n".join(lines) + "\n"


def _connect(session: Session, args: argparse.Namespace) -> None:
    cluster_id = session.cluster_id(args.cluster)
    cluster = session.client.call("GET", f"{CLUSTERS}/{cluster_id}")
    warning = not_serving(cluster)
    if warning:
        print(f"mredis: warning: {warning}", file=sys.stderr)
    hosts = session.client.list_all(f"{CLUSTERS}/{cluster_id}/hosts", "hosts")
    strings = connection_strings(cluster, hosts, args.ca_path or default_ca_path())
    if session.format == "text":
        print(as_text(cluster, strings), end="")
    else:
        session.show(strings)


def register(sub: Subparsers) -> None:
    """Add ``connect`` to the ``cluster`` group ``sub``."""
    parser = command(sub, "connect", "print ready-to-paste connection strings", _connect)
    cluster_argument(parser)
    parser.add_argument("--ca-path", help="the service CA for TLS clusters (default: the local server's)")
