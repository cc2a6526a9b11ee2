"""Redis and Sentinel as the Kubernetes engine's unit tests need them: in memory, by address.

``FakeRedisNet`` holds one ``FakeServer`` per ``address:port`` that runs; ``client(endpoint)``
(the engine's ``Connections.client``) and ``connect(endpoint)`` give a ``FakeClient`` that
answers the commands the engine and the shared Redis code send, or raises
redis.ConnectionError when nothing runs there. Replication is instant (a replica's offset is
its master's); a Sentinel's ``FAILOVER`` promotes the replica with the best priority, then
offset, and points the others and the old master at it. A snapshot (``dump.rdb``) is the
server's keys as JSON behind an RDB magic, so a backup and restore can be checked key by key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from managed_redis.engine.connections import Endpoint
from managed_redis.engine.probe import Answer, Question

RDB_MAGIC = b"REDIS0011"


def snapshot_bytes(keys: dict[str, str]) -> bytes:
    return RDB_MAGIC + json.dumps(keys, sort_keys=True).encode()


def keys_of_snapshot(data: bytes) -> dict[str, str]:
    assert data.startswith(RDB_MAGIC), data[:20]
    loaded: dict[str, str] = json.loads(data[len(RDB_MAGIC) :])
    return loaded


@dataclass
class FakeServer:
    """One running redis-server (or Sentinel, ``sentinel_of`` set) at ``address``."""

    address: str
    port: int
    conf: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)
    role: str = "master"
    master: str | None = None
    priority: int = 100
    offset: int = 0
    rdb_saves: int = 0
    users: set[str] = field(default_factory=lambda: {"default", "mredis"})
    sentinel_of: str | None = None  # the master name a Sentinel monitors
    # Called when the server exits (SHUTDOWN): the pod's loop notices; (save, snapshot bytes).
    on_exit: Callable[[bytes | None], None] = lambda snapshot: None
    # Called by BGSAVE with the snapshot bytes: the pod's volume gets ``dump.rdb``.
    on_save: Callable[[bytes], None] = lambda snapshot: None


@dataclass
class FakeRedisNet:
    servers: dict[tuple[str, int], FakeServer] = field(default_factory=dict)
    # master name -> the address its Sentinels name
    sentinel_masters: dict[str, str] = field(default_factory=dict)
    commands: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (address, command)

    def up(self, server: FakeServer) -> None:
        self.servers[(server.address, server.port)] = server
        if server.sentinel_of is not None:
            monitored = server.conf["sentinel monitor"].split()
            self.sentinel_masters.setdefault(monitored[0], monitored[1])

    def down(self, address: str, port: int) -> None:
        self.servers.pop((address, port), None)

    def redis_at(self, address: str) -> FakeServer | None:
        return next((s for (a, _), s in self.servers.items() if a == address and s.sentinel_of is None), None)

    def client(self, endpoint: Endpoint) -> FakeClient:
        return FakeClient(self, endpoint.address, endpoint.port)

    def forget(self, address: str) -> None:
        return None

    def connect(self, endpoint: Endpoint, timeout_s: float = 5.0, retries: int = 0) -> FakeClient:
        return self.client(endpoint)

    def propagate(self, master: FakeServer) -> None:
        """Replication, instantly: every running replica of ``master`` gets its keys and offset."""
        for server in self.servers.values():
            if server.sentinel_of is None and server.master == master.address:
                server.keys, server.offset = dict(master.keys), master.offset

    # -- Sentinel's failover -------------------------------------------------------------------

    def failover(self, master_name: str) -> None:
        old = self.sentinel_masters[master_name]
        replicas = [s for s in self.servers.values() if s.sentinel_of is None and s.master == old and s.priority > 0]
        if not replicas:
            raise redis.ResponseError("NOGOODSLAVE No suitable replica to promote")
        chosen = sorted(replicas, key=lambda s: (s.priority, -s.offset, s.address))[0]
        chosen.role, chosen.master = "master", None
        for server in self.servers.values():
            if server.sentinel_of is None and server is not chosen and (server.master == old or server.address == old):
                server.role, server.master = "replica", chosen.address
        self.sentinel_masters[master_name] = chosen.address


class FakePipeline:
    def __init__(self, client: FakeClient) -> None:
        self.client = client
        self.queued: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any) -> None:
        self.queued.append(args)

    def execute(self) -> list[Any]:
        return [self.client.execute_command(*args) for args in self.queued]


class FakeClient:
    """The part of ``redis.Redis`` the engine uses, on a ``FakeRedisNet``."""

    def __init__(self, net: FakeRedisNet, address: str, port: int) -> None:
        self.net, self.address, self.port = net, address, port

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    def _server(self) -> FakeServer:
        server = self.net.servers.get((self.address, self.port))
        if server is None:
            raise redis.ConnectionError(f"Error 111 connecting to {self.address}:{self.port}. Connection refused.")
        return server

    def ping(self) -> bool:
        self._server()
        return True

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        return FakePipeline(self)

    def config_get(self, name: str) -> dict[str, str]:
        server = self._server()
        return {name: server.conf.get(name, "0")}

    def config_set(self, name: str, value: object) -> bool:
        self.execute_command("CONFIG", "SET", name, value)
        return True

    def sentinel_master(self, name: str) -> dict[str, Any]:
        self._server()
        return {"ip": self.net.sentinel_masters.get(name), "flags": "master"}

    def info(self, section: str = "") -> dict[str, Any]:
        server = self._server()
        if section == "replication":
            return self._replication(server)
        if section == "persistence":
            return {
                "rdb_saves": server.rdb_saves,
                "rdb_bgsave_in_progress": 0,
                "rdb_last_bgsave_status": "ok",
                "aof_enabled": int(server.conf.get("appendonly") == "yes"),
            }
        if section == "keyspace":
            return {"db0": {"keys": len(server.keys), "expires": 0}} if server.keys else {}
        raise AssertionError(f"INFO {section} is not faked")

    def _replication(self, server: FakeServer) -> dict[str, Any]:
        if server.role == "master":
            return {"role": "master", "master_repl_offset": server.offset}
        master = self.net.redis_at(server.master or "")
        if master is not None:
            server.offset, server.keys = master.offset, dict(master.keys)
        return {
            "role": "slave",
            "master_host": server.master,
            "master_link_status": "up" if master is not None else "down",
            "slave_repl_offset": server.offset,
            "master_sync_in_progress": 0,
        }

    def set(self, key: str, value: str) -> bool:
        server = self._server()
        if server.role != "master":
            raise redis.ReadOnlyError("You can't write against a read only replica.")
        server.keys[key] = value
        server.offset += 1
        self.net.propagate(server)
        return True

    def execute_command(self, *args: Any) -> Any:
        server = self._server()
        words = tuple(str(arg) for arg in args)
        self.net.commands.append((self.address, words))
        name = words[0].upper()
        if server.sentinel_of is not None:
            return self._sentinel(words)
        handler = getattr(self, f"_cmd_{name.lower()}", None)
        if handler is None:
            raise AssertionError(f"{' '.join(words)} is not faked")
        return handler(server, words[1:])

    def _cmd_config(self, server: FakeServer, args: tuple[str, ...]) -> Any:
        if args[0].upper() == "SET":
            pairs = args[1:]
            for key, value in zip(pairs[::2], pairs[1::2], strict=True):
                server.conf[key] = value
                if key == "replica-priority":
                    server.priority = int(value)
            return "OK"
        raise AssertionError(f"CONFIG {args} is not faked")

    def _cmd_acl(self, server: FakeServer, args: tuple[str, ...]) -> Any:
        verb = args[0].upper()
        if verb == "USERS":
            return sorted(server.users)
        if verb == "SETUSER":
            server.users.add(args[1])
        if verb == "DELUSER":
            server.users.discard(args[1])
        if verb == "LIST":
            return [f"user {name} on ~* +@all" for name in sorted(server.users)]
        return "OK"

    def _cmd_client(self, server: FakeServer, args: tuple[str, ...]) -> Any:
        return "OK"

    def _cmd_replicaof(self, server: FakeServer, args: tuple[str, ...]) -> Any:
        if args[0].upper() == "NO":
            server.role, server.master = "master", None
        else:
            server.role, server.master = "replica", args[0]
        return "OK"

    def _cmd_bgsave(self, server: FakeServer, args: tuple[str, ...]) -> Any:
        server.rdb_saves += 1
        server.on_save(snapshot_bytes(server.keys))
        return "Background saving scheduled"

    def _cmd_shutdown(self, server: FakeServer, args: tuple[str, ...]) -> Any:
        save = not args or args[0].upper() == "SAVE"
        self.net.down(server.address, server.port)
        server.on_exit(snapshot_bytes(server.keys) if save else None)
        raise redis.ConnectionError("Connection closed by server.")

    def _cmd_cluster(self, server: FakeServer, args: tuple[str, ...]) -> Any:
        if args[0].upper() == "FAILOVER":  # the replica takes its master's place
            old = self.net.redis_at(server.master or "")
            if old is not None:
                old.role, old.master = "replica", server.address
            server.role, server.master = "master", None
            return "OK"
        raise AssertionError(f"CLUSTER {args} is not faked")

    def _sentinel(self, words: tuple[str, ...]) -> Any:
        verb = words[1].upper() if len(words) > 1 else ""
        if words[0].upper() == "ACL":
            return "OK"
        if verb in ("DEBUG", "CKQUORUM", "FLUSHCONFIG"):
            return "OK"
        if verb == "GET-MASTER-ADDR-BY-NAME":
            address = self.net.sentinel_masters.get(words[2])
            return [address, "6379"] if address else None
        if verb == "FAILOVER":
            self.net.failover(words[2])
            return "OK"
        raise AssertionError(f"{' '.join(words)} is not faked for a Sentinel")


class FakeProber:
    """The engine's ``Prober`` on a ``FakeRedisNet``: answers a look's INFO and CONFIG GET."""

    def __init__(self, net: FakeRedisNet) -> None:
        self.net = net

    def ask(self, questions: list[Question], timeout_s: float) -> list[Answer]:
        answers = []
        for question in questions:
            client = self.net.client(question.endpoint)
            try:
                replies = tuple(self._reply(client, command) for command in question.commands)
            except redis.ConnectionError as exc:
                answers.append(Answer(error=str(exc)))
                continue
            answers.append(Answer(replies=replies))
        return answers

    def _reply(self, client: FakeClient, command: tuple[str, ...]) -> object:
        if command[0] == "INFO":
            info = client.info("replication")
            return "".join(f"{key}:{value}\r\n" for key, value in info.items())
        if command[:2] == ("CONFIG", "GET"):
            return [command[2], client.config_get(command[2])[command[2]]]
        if command[0] == "SENTINEL":
            return client.execute_command(*command)
        raise AssertionError(f"{command} is not faked in a look")

    def forget(self, address: str) -> None:
        return None

    def close(self) -> None:
        return None
