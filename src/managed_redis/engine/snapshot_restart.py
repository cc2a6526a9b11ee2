"""Restarting a host into another mode or version from a fresh RDB snapshot, never from its AOF.

An AOF is a log of commands that whatever starts next replays by its own rules, so a command
whose meaning changed changes the data. Turning cluster mode on is the case met: cluster mode
refuses ``SELECT 5``, so an AOF that once wrote to db5 and then emptied it with ``FLUSHDB``
replays both into db0, and db0 ends empty. An RDB holds the data itself, database by database;
any mode or later version reads it the same way (and a cluster-mode Redis refuses to start on
keys outside db0 rather than misplace them).

Keys that expired but were not reclaimed yet (writes were held: ``CLIENT PAUSE WRITE`` stops
expiry too) are still in the snapshot, in whatever database held them. Redis 7.0 in cluster
mode drops them as it loads; Valkey 8.1 in cluster mode refuses to start at all on a file
holding any database but db0 ("Data file was created with a Valkey server configured to
handle more than 1 databases"). So a snapshot headed for cluster mode that holds databases
other than db0 is first loaded by a non-cluster master in private (the customer's users
locked out, so nothing can write to it), which drops the expired keys as every master does
when it loads, and saved again: any key left there was live, and the cluster-mode start
refuses it rather than misplace it. This is done after the hold, not by reclaiming before
it: a key of another database whose TTL passes between a reclaim and the snapshot (writers
go on until the hold) would be in the snapshot again.

``LocalEngine.restart_from_snapshot`` (the ``Engine`` contract in ``engine/base.py``) calls
``restart_from_snapshot`` here; it is the one way a host is restarted into another mode
(EnableSharding) or, later, another version.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import shutil
import time
from typing import TYPE_CHECKING

import redis

from managed_redis import failpoints
from managed_redis.engine import process
from managed_redis.engine.connections import connect
from managed_redis.engine.errors import EngineError
from managed_redis.engine.model import Node

if TYPE_CHECKING:
    from managed_redis.engine.local import LocalEngine

log = logging.getLogger(__name__)

# How long to wait for the process to exit once SHUTDOWN has saved (it only closes files then).
EXIT_TIMEOUT_S = 10.0
# How long to keep asking a Redis that refuses to save (each attempt may itself take up to the
# caller's timeout to write the file): a refusal that lasts this long (a full disk, a
# directory it cannot write) will not pass by itself.
REFUSED_FOR_S = 30.0


def restart_from_snapshot(
    engine: LocalEngine, before: Node, after: Node, keep_data: bool = True, timeout_s: float = 3600.0
) -> None:
    """Restart the host ``before`` describes (in its directory) as ``after``, from a fresh RDB
    snapshot of its memory; see ``LocalEngine.restart_from_snapshot`` for the contract.

    Raises EngineError: the snapshot was not written (the host keeps running as ``before``,
    its files untouched), or ``after`` did not start or did not write its new AOF base.
    """
    if before.directory != after.directory or before.address != after.address:
        raise EngineError(f"{before.name} and {after.name} are not the same host; nothing restarted")
    others: list[str] = []  # databases besides db0 in the snapshot, headed for cluster mode
    if keep_data:
        engine.ensure_node(before, timeout_s)  # down: back from its own files, in the mode that wrote them
        # A private load (``drop_expired_keys``) that a crash interrupted left its random password.
        engine.set_default_password(before, before.credentials.password)
        others = databases_besides_db0(engine, before) if after.cluster_mode else []
        save_and_stop(engine, before, timeout_s)
    else:  # its data is its master's: it copies the master's snapshot when it replicates it
        engine.stop_node(before, save=False)
        engine.rdb_path(before).unlink(missing_ok=True)
    # The AOF goes last: until the snapshot is on disk it is what holds the data.
    shutil.rmtree(engine.aof_manifest(before).parent, ignore_errors=True)
    failpoints.reached("snapshot_restart.saved")  # down, its snapshot alone on disk
    if others:
        drop_expired_keys(engine, before, others, timeout_s)
    started = time.monotonic()
    engine.ensure_node(after, timeout_s)
    if after.appendonly:
        wait_aof_base(engine, after, timeout_s)
    log.info("redis on %s restarted from a fresh snapshot in %.2f s", after.name, time.monotonic() - started)


def databases_besides_db0(engine: LocalEngine, node: Node) -> list[str]:
    """The databases other than db0 that ``INFO keyspace`` counts keys in on the running
    ``node`` (``["db5"]``), expired keys not yet reclaimed included.
    Raises redis.RedisError if ``node`` cannot be asked."""
    return [db for db, keys in engine.keyspace(node).items() if db != "db0" and keys]


def drop_expired_keys(engine: LocalEngine, node: Node, databases: list[str], timeout_s: float) -> None:
    """Load ``node``'s ``dump.rdb`` (which holds ``databases`` besides db0) in a non-cluster
    master that no customer can log in to (its ``default`` password is a fresh random one,
    the other users left out), and save it again: a master drops the keys whose TTL has
    passed as it loads a snapshot. Leaves ``node`` down, its new snapshot on disk; the next
    start writes its real users back. Raises EngineError as ``save_and_stop`` does, or if the
    private master does not start."""
    private = dataclasses.replace(
        node,
        cluster_mode=False,
        replica_of=None,
        appendonly=False,
        users=(),
        credentials=dataclasses.replace(node.credentials, password=secrets.token_urlsafe(32)),
    )
    engine.ensure_node(private, timeout_s)
    left = databases_besides_db0(engine, private)
    log.info(
        "redis on %s loaded its snapshot in private to drop the expired keys of %s (%s left)",
        node.name,
        ", ".join(databases),
        ", ".join(left) or "none",
    )
    save_and_stop(engine, private, timeout_s)


def save_and_stop(engine: LocalEngine, node: Node, timeout_s: float) -> None:
    """``SHUTDOWN SAVE`` the running ``node``: Redis writes its RDB and exits in one step, so
    every write it acknowledged is in the file and none after it is acknowledged (a client
    gets its connection closed, then refused). Returns once the process is gone and
    ``dump.rdb`` is a file written since this call began.

    Raises EngineError if Redis keeps refusing to save (a full disk, say) for
    ``REFUSED_FOR_S``: the process is left running, never killed, so nothing it holds is lost.
    """
    pid = engine.running_pid(node)
    if pid is None:
        raise EngineError(f"redis on {node.name} is not running; there is nothing to snapshot")
    before = _identity(engine, node)
    deadline = time.monotonic() + min(timeout_s, REFUSED_FOR_S)
    while True:
        try:
            with connect(engine.endpoint(node), timeout_s=timeout_s) as client:
                client.execute_command("SHUTDOWN", "SAVE")
            problem = "SHUTDOWN SAVE answered without exiting"
        except redis.ConnectionError as exc:  # SHUTDOWN closes the connection once it has saved
            if process.wait_gone(pid, EXIT_TIMEOUT_S):
                break
            problem = f"the connection broke ({exc}) but the process lives on"
        except redis.RedisError as exc:
            problem = str(exc)
        if time.monotonic() > deadline:
            raise EngineError(f"redis on {node.name} did not save its snapshot and stop: {problem}")
        log.info("SHUTDOWN SAVE on %s did not stop it (%s); trying again", node.name, problem)
        time.sleep(0.2)
    engine.forget_process(node)
    after = _identity(engine, node)
    if after is None or after == before:
        raise EngineError(
            f"redis on {node.name} stopped without writing a new snapshot; its AOF is kept and "
            f"nothing was restarted (see {node.log_file})"
        )


def wait_aof_base(engine: LocalEngine, node: Node, timeout_s: float) -> None:
    """Return once ``node`` has finished the AOF rewrite that turning its AOF on began: from
    then on its restart reads the new AOF, a base written from the snapshot it loaded.
    Raises EngineError if that takes longer than ``timeout_s``."""
    manifest = engine.aof_manifest(node)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = engine.admin(node).info("persistence")
        busy = int(info.get("aof_rewrite_in_progress", 0)) or int(info.get("aof_rewrite_scheduled", 0))
        if int(info.get("aof_enabled", 0)) and not busy and manifest.exists():
            return
        time.sleep(0.02)
    raise EngineError(f"redis on {node.name} did not write its new AOF within {timeout_s:.0f} s")


def _identity(engine: LocalEngine, node: Node) -> tuple[int, int] | None:
    """Which ``dump.rdb`` is there (inode, modification time): Redis writes a new one under a
    temporary name and renames it over the old, so a new snapshot has a new identity."""
    try:
        stat = os.stat(engine.rdb_path(node))
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns
