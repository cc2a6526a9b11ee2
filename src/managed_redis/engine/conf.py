"""Renders ``redis.conf``, ``users.acl`` and ``sentinel.conf`` for one host.

The layout was verified on this machine (see docs/engine.md):

- every process binds only its own address, and also connects out from it
  (``bind-source-addr``) and announces it, or peers record 127.0.0.1 instead;
- Redis users: ``default`` is the customer's password with every command except ``@admin``
  (``ROLE`` aside, which client libraries call) and the commands the cloud makes
  unavailable (``UNAVAILABLE_COMMANDS``: MIGRATE above all, which would carry keys to any
  address, the machine's own services included); every customer user gets that same
  denial after its own rules, so it always wins. ``mredis`` is the control plane's own
  user (``+@all``: it migrates slots), used by replicas (``masteruser``) and Sentinels;
- Sentinel answers discovery commands without a password, and everything else only to
  ``mredis``; Sentinels of a TLS cluster talk TLS to each other on 26380 and keep a plain
  26379 for clients;
- Sentinels start knowing their peers and replicas (fixed ``myid`` and ``known-*`` lines),
  so a new cluster does not wait for the 2-second discovery period.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from managed_redis.engine.addresses import CLUSTER_BUS_OFFSET
from managed_redis.engine.model import AclUser, Node, Sentinel, TlsFiles

SENTINEL_TLS_PORT = 26380

_SENTINEL_PUBLIC_COMMANDS = (
    "+ping +hello +auth +role +info +command +client|setname +client|getname +client|id +client|info "
    "+subscribe +psubscribe +unsubscribe +punsubscribe "
    "+sentinel|get-master-addr-by-name +sentinel|masters +sentinel|master +sentinel|slaves "
    "+sentinel|replicas +sentinel|sentinels +sentinel|myid +sentinel|ckquorum"
)


# Commands a customer's Redis user may never run (api.md §10.1, "Unavailable commands"),
# on top of ``-@admin``: most are in @admin already; MIGRATE, MOVE, OBJECT and parts of ACL
# are not, and MIGRATE would take keys out of the cluster to any address.
UNAVAILABLE_COMMANDS = (
    "acl",
    "bgrewriteaof",
    "bgsave",
    "config",
    "debug",
    "lastsave",
    "migrate",
    "module",
    "monitor",
    "move",
    "object",
    "replicaof",
    "save",
    "shutdown",
    "slaveof",
)
# ... and on a sharded cluster, the CLUSTER subcommands that change the cluster's shape.
UNAVAILABLE_CLUSTER_SUBCOMMANDS = (
    "addslots",
    "addslotsrange",
    "bumpepoch",
    "delslots",
    "delslotsrange",
    "failover",
    "flushslots",
    "forget",
    "meet",
    "replicate",
    "reset",
    "saveconfig",
    "set-config-epoch",
    "setslot",
)
CUSTOMER_RULES = "~* &* +@all -@admin +role"


def customer_denials(cluster_mode: bool) -> str:
    """The ACL rules that take the unavailable commands away, to follow a user's own rules."""
    denied = [f"-{command}" for command in UNAVAILABLE_COMMANDS]
    if cluster_mode:
        denied += [f"-cluster|{subcommand}" for subcommand in UNAVAILABLE_CLUSTER_SUBCOMMANDS]
    return " ".join(denied)


def sha256(password: str) -> str:
    """The hex SHA-256 of ``password``, as ACL rules take it (``#<hex>``)."""
    return hashlib.sha256(password.encode()).hexdigest()


def quote(value: str) -> str:
    """``value`` double-quoted for a config file, backslashes and quotes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_lines(pairs: list[tuple[str, str]]) -> str:
    """Config file text: one ``directive value`` line per pair. Pure: never raises."""
    return "".join(f"{key} {value}\n" for key, value in pairs)


def _tls_lines(tls: TlsFiles) -> list[tuple[str, str]]:
    return [
        ("tls-cert-file", quote(str(tls.cert_file))),
        ("tls-key-file", quote(str(tls.key_file))),
        ("tls-ca-cert-file", quote(str(tls.ca_file))),
        ("tls-auth-clients", "no"),
        ("tls-replication", "yes"),
    ]


def redis_conf(node: Node) -> str:
    """``redis.conf`` of ``node``: every directive it starts with, its declared ones
    (``node.directives``) last. Pure: never raises."""
    return render(redis_conf_pairs(node))


def render(pairs: list[tuple[str, str]]) -> str:
    """A ``redis.conf`` from its (directive, value) lines, headed by a do-not-edit line."""
    return "# Written by managed-redis; changes here are overwritten.\n" + render_lines(pairs)


def redis_conf_pairs(node: Node) -> list[tuple[str, str]]:
    """The (directive, value) lines of ``node``'s ``redis.conf``, in order (see ``redis_conf``);
    another engine renders these with its own network and path lines. Pure: never raises."""
    directory = quote(str(node.directory))
    pairs: list[tuple[str, str]] = [
        ("bind", node.address),
        ("bind-source-addr", node.address),
        ("protected-mode", "yes"),
        ("daemonize", "yes"),
        ("pidfile", quote(str(node.pidfile))),
        ("logfile", quote(str(node.log_file))),
        ("dir", directory),
        # CONFIG SET dir moves a Redis whose directory was removed into a new one (restore_files);
        # only the control plane's user may run CONFIG.
        ("enable-protected-configs", "yes"),
        ("aclfile", quote(str(node.acl_file))),
        ("replica-announce-ip", node.address),
        ("repl-diskless-sync", "yes"),
        ("repl-diskless-sync-delay", "0"),
        ("replica-serve-stale-data", "yes"),
        ("replica-priority", str(node.replica_priority)),
        # Replicas hear from an idle master every second (10 s by default), so a replica that
        # has heard nothing for seconds says the master is silent: the supervisor's evidence
        # before it fences one.
        ("repl-ping-replica-period", "1"),
        # With min-replicas-to-write on (the supervisor turns it on while a replica is
        # linked), a master stops taking writes once no replica acknowledged for this long.
        ("min-replicas-max-lag", str(node.min_replicas_max_lag_s)),
        ("masteruser", node.credentials.admin_user),
        ("masterauth", quote(node.credentials.admin_password)),
        ("save", '""'),
        ("appendonly", "yes" if node.appendonly else "no"),
        ("appendfsync", "everysec"),
        ("no-appendfsync-on-rewrite", "yes"),
        ("auto-aof-rewrite-percentage", "100"),
        ("auto-aof-rewrite-min-size", "64mb"),
        ("aof-load-truncated", "yes"),
        ("aof-use-rdb-preamble", "yes"),
        ("aof-rewrite-incremental-fsync", "yes"),
    ]
    if node.tls:
        pairs += [("port", "0"), ("tls-port", str(node.port)), *_tls_lines(node.tls)]
    else:
        pairs.append(("port", str(node.port)))
    if node.cluster_mode:
        pairs += [
            ("cluster-enabled", "yes"),
            ("cluster-config-file", quote(str(node.directory / "nodes.conf"))),
            ("cluster-node-timeout", str(node.cluster_node_timeout_ms)),
            ("cluster-announce-ip", node.address),
            ("cluster-port", str(node.port + CLUSTER_BUS_OFFSET)),
            # Hosts belong to the shard they were declared in: no replica wanders to another
            # master, and a master left without slots stays a master until it is removed.
            ("cluster-allow-replica-migration", "no"),
            # Priority 0 ("never promote") in Redis Cluster's own words.
            ("cluster-replica-no-failover", "yes" if node.replica_priority == 0 else "no"),
        ]
        if node.tls:
            pairs.append(("tls-cluster", "yes"))
    # Directive values come rendered; only an empty one needs quotes to stay an argument.
    pairs += [(key, value or '""') for key, value in node.directives]
    if node.replica_of and not node.cluster_mode:
        pairs.append(("replicaof", f"{node.replica_of} {node.port}"))
    return pairs


def acl_rule_for(user: AclUser) -> str:
    """One ``users.acl`` line for ``user``: on or off, its password digests, its rules. A user
    without a password gets none (nobody can log in as it), never ``nopass``."""
    state = "on" if user.enabled else "off"
    passwords = " ".join(f"#{digest}" for digest in user.password_sha256) or "resetpass"
    return f"user {user.name} {state} {passwords} {user.rules}".strip()


def users_acl(node: Node) -> str:
    """``users.acl``: the customer's users (``default`` and ``node.users``), each denied the
    unavailable commands after its own rules, and the control plane's user."""
    credentials = node.credentials
    denials = customer_denials(node.cluster_mode)
    customers = [AclUser("default", (sha256(credentials.password),), CUSTOMER_RULES), *node.users]
    users = [
        *(dataclasses.replace(user, rules=f"{user.rules} {denials}".strip()) for user in customers),
        AclUser(credentials.admin_user, (sha256(credentials.admin_password),), "~* &* +@all"),
    ]
    return "".join(acl_rule_for(user) + "\n" for user in users)


def sentinel_default_user_rules(sentinel: Sentinel) -> list[str]:
    """The ACL rules of a Sentinel's ``default`` user (the clients'): the public Sentinel
    commands, with the cluster password's digest when ``sentinel.auth``, else ``nopass``.
    Pure: never raises."""
    password = f"#{sha256(sentinel.credentials.password)}" if sentinel.auth else "nopass"
    return ["on", "resetpass", password, "resetchannels", "&*", "-@all", *_SENTINEL_PUBLIC_COMMANDS.split()]


def sentinel_default_user(sentinel: Sentinel) -> str:
    """The ``user default ...`` line of ``sentinel.conf`` (without ``user``). Pure: never raises."""
    return " ".join(["default", *sentinel_default_user_rules(sentinel)])


def with_sentinel_default_user(text: str, sentinel: Sentinel) -> str:
    """The Sentinel config ``text`` with its ``user default`` line made today's
    (``sentinel_default_user``), first. Pure: never raises."""
    kept = [line for line in text.splitlines() if line.split()[:2] != ["user", "default"]]
    return "".join(f"{line}\n" for line in [f"user {sentinel_default_user(sentinel)}", *kept])


def sentinel_conf(sentinel: Sentinel) -> str:
    """``sentinel.conf`` of ``sentinel``: what it monitors, as whom, and the replicas and Sentinels
    it already knows. Pure: never raises."""
    return render_lines(sentinel_conf_pairs(sentinel))


def sentinel_conf_pairs(sentinel: Sentinel) -> list[tuple[str, str]]:
    """The (directive, value) lines of ``sentinel``'s ``sentinel.conf``, in order (see
    ``sentinel_conf``). Pure: never raises."""
    credentials = sentinel.credentials
    name = sentinel.master_name
    peer_port = SENTINEL_TLS_PORT if sentinel.tls else sentinel.port
    pairs: list[tuple[str, str]] = [
        ("bind", sentinel.address),
        ("port", str(sentinel.port)),
        ("bind-source-addr", sentinel.address),
        ("daemonize", "yes"),
        ("pidfile", quote(str(sentinel.pidfile))),
        ("logfile", quote(str(sentinel.log_file))),
        ("dir", quote(str(sentinel.directory))),
        ("sentinel announce-ip", sentinel.address),
        ("sentinel resolve-hostnames", "no"),
        ("user", sentinel_default_user(sentinel)),
        (f"user {credentials.admin_user} on", f"#{sha256(credentials.admin_password)} ~* &* +@all"),
        ("sentinel sentinel-user", credentials.admin_user),
        ("sentinel sentinel-pass", quote(credentials.admin_password)),
        ("sentinel myid", sentinel.myid),
        ("sentinel monitor", f"{name} {sentinel.master_address} {sentinel.master_port} {sentinel.quorum}"),
        ("sentinel auth-user", f"{name} {credentials.admin_user}"),
        ("sentinel auth-pass", f"{name} {quote(credentials.admin_password)}"),
        ("sentinel down-after-milliseconds", f"{name} {sentinel.down_after_ms}"),
        ("sentinel failover-timeout", f"{name} {sentinel.failover_timeout_ms}"),
        ("sentinel parallel-syncs", f"{name} 1"),
    ]
    if sentinel.tls:
        pairs += [("tls-port", str(SENTINEL_TLS_PORT)), *_tls_lines(sentinel.tls)]
    for replica in sentinel.replicas:
        pairs.append(("sentinel known-replica", f"{name} {replica} {sentinel.master_port}"))
    for address, run_id in sorted(sentinel.sentinel_ids.items()):
        if address != sentinel.address:
            pairs.append(("sentinel known-sentinel", f"{name} {address} {peer_port} {run_id}"))
    return pairs


def master_in_sentinel_conf(path: Path, master_name: str) -> str | None:
    """The master address a Sentinel last wrote into its config (it rewrites it on failover).
    None if the file is gone or names no such master. Raises OSError if it is there but cannot
    be read."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        parts = line.split()
        if parts[:2] == ["sentinel", "monitor"] and len(parts) >= 4 and parts[2] == master_name:
            return parts[3]
    return None
