"""Each version's ACL vocabulary (``catalog/acl_commands.py``) is what its real binary answers,
and a cluster's users may be given the commands of its own version, and no other's."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from managed_redis.catalog.acl_commands import LISTED_VERSIONS, AclVocabulary, vocabulary_for
from managed_redis.catalog.versions import RedisVersion, discover
from tests.support.clusters import PASSWORD, create_body, create_cluster, hosts_of, run
from tests.support.server import RunningServer, host_network, wait_until

VERSIONS = discover()
LISTED = [v for v in VERSIONS if v.id in LISTED_VERSIONS]


@contextmanager
def bare_server(version: RedisVersion) -> Iterator[redis.Connection]:
    """``version``'s binary alone on an address of this test's own network, no file written."""
    address = host_network().replace(".0/24", ".1")
    with tempfile.TemporaryDirectory() as directory:
        argv = [version.binary, "--bind", address, "--port", "6379", "--save", "", "--appendonly", "no"]
        process = subprocess.Popen([*argv, "--dir", directory], stdout=subprocess.DEVNULL)
        connection = redis.Connection(host=address, port=6379, decode_responses=True)
        try:
            wait_until(lambda: _answers(connection), timeout_s=10, message=f"{version.binary} did not start")
            yield connection
        finally:
            connection.disconnect()
            process.kill()
            process.wait()


def _answers(connection: redis.Connection) -> bool:
    try:
        connection.connect()
    except redis.ConnectionError:
        return False
    return True


def _ask(connection: redis.Connection, *command: str) -> Any:
    # Raw replies: redis-py's own parsing of COMMAND drops the subcommands.
    connection.send_command(*command)
    return connection.read_response()


def vocabulary_of(connection: redis.Connection, source: str) -> AclVocabulary:
    """What a live server says of itself: ``ACL CAT``, ``COMMAND`` (each entry's 10th field its
    subcommands) and ``ACL CAT admin`` (how ``catalog/acl_commands.py`` was written)."""
    commands = set()
    for entry in _ask(connection, "COMMAND"):
        commands.add(str(entry[0]).lower())
        commands |= {str(sub[0]).lower() for sub in (entry[9] if len(entry) > 9 else [])}
    return AclVocabulary(
        source,
        frozenset(_ask(connection, "ACL", "CAT")),
        frozenset(commands),
        frozenset(str(name).lower() for name in _ask(connection, "ACL", "CAT", "admin")),
    )


@pytest.mark.parametrize("version", LISTED, ids=[v.id for v in LISTED])
def test_the_listed_vocabulary_is_what_the_binary_answers(version: RedisVersion) -> None:
    listed = vocabulary_for(version.id)
    with bare_server(version) as connection:
        answered = vocabulary_of(connection, f"{version.name}.{version.patch}")
    assert sorted(answered.categories ^ listed.categories) == []
    assert sorted(answered.commands - listed.commands) == [], "commands to add to catalog/acl_commands.py"
    assert sorted(listed.commands - answered.commands) == [], "commands this binary does not have"
    assert sorted(answered.admin_commands ^ listed.admin_commands) == []


VALKEY_ONLY = "+get +set +waitaof +client|setinfo"


@pytest.mark.skipif("8.1-valkey" not in {v.id for v in VERSIONS}, reason="no Valkey 8.1 on this machine")
def test_a_valkey_user_gets_valkey_commands_and_a_redis_70_one_is_refused_them(server: RunningServer) -> None:
    spec = create_body("x")["configSpec"] | {"version": "8.1-valkey"}
    cluster = create_cluster(server, "acl-valkey", hosts=1, configSpec=spec)
    user = {
        "name": "app",
        "passwords": ["App-Password-1"],
        "permissions": {"categories": "-@all", "commands": VALKEY_ONLY},
    }
    run(server, "POST", f"/managed-redis/v1/clusters/{cluster['id']}/users", {"userSpec": user})
    host = hosts_of(server, cluster["id"])[0]["name"]
    app = redis.Redis(host=host, port=6379, username="app", password="App-Password-1", decode_responses=True)
    assert len(app.execute_command("WAITAOF", 0, 0, 0)) == 2  # local fsyncs, replicas
    assert app.execute_command("CLIENT", "SETINFO", "LIB-NAME", "tests") == "OK"
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.execute_command("DEL", "k")

    spec = create_body("x")["configSpec"] | {"version": "7.0"}
    body = create_body("acl-redis-70", hosts=1, configSpec=spec, userSpecs=[user])
    response = server.rest("POST", "/managed-redis/v1/clusters", json=body)
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert "user_specs[0].permissions.commands: '+waitaof' names no Redis command in Redis 7.0.15" in message
    redis.Redis(host=host, port=6379, password=PASSWORD).ping()  # the Valkey cluster is untouched
    run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster['id']}")
