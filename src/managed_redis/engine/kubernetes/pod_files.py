"""Inside a Redis pod: its config files, the loop its containers run, and the commands the
engine execs there.

The config is ``conf.py``'s, rendered for a node whose directory is the pod's data volume
(``/data``) and whose certificates are the mounted TLS Secret's, with the lines that are
about a machine's loopback addresses replaced: Redis and Sentinel bind every interface of the
pod (a pod cannot bind its Service's ClusterIP) and do not pick a source address, while they
go on announcing the host's address (the ClusterIP), which is what peers and clients reach.
Processes stay in the foreground and log to the container's output.

Each container runs ``LOOP``: it starts its process only once the engine has left a start
token (``redis.start``), removing the token as it does, marks it running
(``redis.running``: the readiness probe) and, when the process exits, waits for the next
token. So a pod that is rescheduled, or a container that restarts, starts no Redis by itself.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path, PurePosixPath

from managed_redis.engine import conf
from managed_redis.engine.model import Node, Sentinel, TlsFiles

DATA_DIR = PurePosixPath("/data")
TLS_DIR = PurePosixPath("/tls")
CA_FILE = "ca.crt"
REDIS = "redis"
SENTINEL = "sentinel"
# Directives about the machine rather than the host: replaced (``bind``), dropped
# (``bind-source-addr``: a pod cannot send from its Service's address) or set for a container.
_POD_LINES = {
    "bind": "0.0.0.0",
    "daemonize": "no",
    "logfile": '""',
}
_DROPPED = {"bind-source-addr"}


def cert_key(ordinal: int) -> str:
    """The key of a host's certificate in its shard's TLS Secret."""
    return f"{ordinal}.crt"


def key_key(ordinal: int) -> str:
    return f"{ordinal}.key"


def pod_tls(ordinal: int) -> TlsFiles:
    """Where the pod of ``ordinal`` finds its certificate, key and the CA (the mounted Secret)."""
    return TlsFiles(
        Path(str(TLS_DIR / cert_key(ordinal))), Path(str(TLS_DIR / key_key(ordinal))), Path(str(TLS_DIR / CA_FILE))
    )


def _in_pod(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(key, _POD_LINES.get(key, value)) for key, value in pairs if key not in _DROPPED]


def pod_node(node: Node, ordinal: int) -> Node:
    """``node`` as it runs in its pod: its directory the data volume, its certificates mounted."""
    tls = pod_tls(ordinal) if node.tls else None
    return dataclasses.replace(node, directory=Path(str(DATA_DIR)), tls=tls)


def pod_sentinel(sentinel: Sentinel, ordinal: int) -> Sentinel:
    tls = pod_tls(ordinal) if sentinel.tls else None
    return dataclasses.replace(sentinel, directory=Path(str(DATA_DIR)), tls=tls)


def redis_conf(node: Node, ordinal: int) -> str:
    """``redis.conf`` of ``node`` in the pod of ``ordinal`` (see the module's docstring).
    Pure: never raises."""
    return conf.render(_in_pod(conf.redis_conf_pairs(pod_node(node, ordinal))))


def users_acl(node: Node) -> str:
    """``users.acl`` of ``node``: the local engine's, paths play no part in it."""
    return conf.users_acl(node)


def sentinel_conf(sentinel: Sentinel, ordinal: int) -> str:
    """``sentinel.conf`` of ``sentinel`` in the pod of ``ordinal``. Pure: never raises."""
    return conf.render_lines(_in_pod(conf.sentinel_conf_pairs(pod_sentinel(sentinel, ordinal))))


# -- the containers' loop ---------------------------------------------------------------------------

# $1: the process name (redis, sentinel); the rest: its command. POSIX sh, no bash needed.
LOOP = r"""set -u
name=$1; shift
dir=${MREDIS_DATA:-/data}
child=0
trap 'if [ "$child" != 0 ]; then kill -TERM "$child"; wait "$child"; fi; exit 0' TERM INT
rm -f "$dir/$name.running"
while :; do
  if [ -e "$dir/$name.start" ]; then
    rm -f "$dir/$name.start"
    touch "$dir/$name.running"
    "$@" &
    child=$!
    echo "$child" > "$dir/$name.pid"
    wait "$child"
    echo "managed-redis: $name exited ($?)" >&2
    child=0
    rm -f "$dir/$name.running" "$dir/$name.pid"
  fi
  sleep 0.2
done
"""


def container_command(name: str) -> list[str]:
    """The command of the container running ``name`` (``redis`` or ``sentinel``)."""
    config = str(DATA_DIR / f"{name}.conf")
    process = ["redis-server", config] if name == REDIS else ["redis-server", config, "--sentinel"]
    return ["sh", "-c", LOOP, "loop", name, *process]


def readiness_command(name: str) -> list[str]:
    """Ready while the container's process runs."""
    return ["test", "-e", str(DATA_DIR / f"{name}.running")]


# -- commands the engine execs in a pod ---------------------------------------------------------


def write_file(path: PurePosixPath, size: int) -> list[str]:
    """Write the ``size`` bytes sent on stdin to ``path`` (replaced whole, mode 0600). Reads
    exactly ``size`` bytes, so it needs no end of input."""
    script = 'umask 077; head -c "$1" > "$2.tmp" && mv "$2.tmp" "$2"'
    return ["sh", "-c", script, "write", str(size), str(path)]


def read_file(path: PurePosixPath) -> list[str]:
    return ["cat", str(path)]


def state() -> list[str]:
    """Prints which of the pod's files are there, one name a line: ``redis.running``,
    ``sentinel.running``, ``redis.conf``, ``sentinel.conf``, ``dump.rdb``, the AOF manifest."""
    names = [
        "redis.running",
        "sentinel.running",
        "redis.conf",
        "sentinel.conf",
        "dump.rdb",
        "appendonlydir/appendonly.aof.manifest",
    ]
    tests = " ; ".join(f"[ -e {DATA_DIR / name} ] && echo {name}" for name in names)
    return ["sh", "-c", f"{tests} ; true"]


def send_start(name: str) -> list[str]:
    """Leave the start token of ``name`` (the loop takes it within 0.2 s) unless it runs."""
    token, running = DATA_DIR / f"{name}.start", DATA_DIR / f"{name}.running"
    return ["sh", "-c", f"[ -e {running} ] || touch {token}"]


def withdraw_start(name: str) -> list[str]:
    """Take back a start token not taken yet (before a stop: it would start the process again)."""
    return ["rm", "-f", str(DATA_DIR / f"{name}.start")]


def kill(name: str, signal: str) -> list[str]:
    """Send ``signal`` (``TERM``, ``KILL``) to the running ``name``; its loop then waits for a
    token. Exit status 0 whether or not it ran."""
    pidfile = DATA_DIR / f"{name}.pid"
    return ["sh", "-c", f"[ -s {pidfile} ] && kill -{signal} $(cat {pidfile}) ; true"]


def remove_aof() -> list[str]:
    return ["rm", "-rf", str(DATA_DIR / "appendonlydir")]


def wipe() -> list[str]:
    """Remove every file of the data volume: a host that leaves takes its data along."""
    return ["sh", "-c", f"rm -rf {shlex.quote(str(DATA_DIR))}/* {shlex.quote(str(DATA_DIR))}/.[!.]* ; true"]
