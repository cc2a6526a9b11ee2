"""The ``mredis`` client commands as a user runs them: the installed binary, against a running
server, in each output format; its connection strings reach the cluster they name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from tests.support.clusters import FOLDER, PASSWORD
from tests.support.server import RunningServer
from tests.support.versions import requires_tls

MREDIS = str(Path(sys.executable).parent / "mredis")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


@pytest.fixture(scope="module")
def server(cluster_server: RunningServer) -> RunningServer:
    """The e2e conftest's server for tests that create clusters."""
    return cluster_server


def cli_env(server: RunningServer) -> dict[str, str]:
    """The environment a user of this server sets: endpoint, token, folder, the data dir (for
    the CA), and no profile of the machine's user."""
    return {
        **os.environ,
        "MREDIS_ENDPOINT": server.rest_url,
        "MREDIS_TOKEN": server.admin_token,
        "MREDIS_FOLDER_ID": FOLDER,
        "MREDIS_DATA_DIR": str(server.data_dir),
        "MREDIS_CLI_CONFIG": "/nonexistent/mredis.toml",
    }


def mredis(server: RunningServer, *args: str, env: dict[str, str] | None = None) -> Result:
    done = subprocess.run(
        [MREDIS, *args], capture_output=True, text=True, env=env or cli_env(server), timeout=240, check=False
    )
    return Result(done.returncode, done.stdout, done.stderr)


def master(server: RunningServer, cluster: str) -> str:
    hosts = mredis(server, "cluster", "list-hosts", cluster, "--format", "json").json()
    masters = [h["name"] for h in hosts if h.get("role") == "MASTER"]
    assert len(masters) == 1, hosts
    return str(masters[0])


def run_snippet(snippet: str, password: str, then: str) -> str:
    """Run a redis-py snippet ``cluster connect`` printed, then ``then`` with its ``client``."""
    code = f"{snippet}\n{then}"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "REDIS_PASSWORD": password},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_cluster_life_by_name_and_id_in_each_format(server: RunningServer) -> None:
    created = mredis(
        server, "cluster", "create", "--name", "cli-cache", "--resource-preset", "hm1.nano",
        "--password", PASSWORD, "--host", "zone-id=ru-central1-a", "--host", "zone-id=ru-central1-b,replica-priority=50",
        "--labels", "team=cache", "--format", "json",
    )  # fmt: skip
    cluster = created.json()
    assert cluster["name"] == "cli-cache" and cluster["status"] == "RUNNING"
    assert cluster["labels"] == {"team": "cache"}
    assert "Create" in created.err and "done" in created.err and f"cluster {cluster['id']}" in created.err
    assert PASSWORD not in created.out + created.err

    listed = mredis(server, "cluster", "list", "--format", "json").json()
    assert [c["id"] for c in listed if c["name"] == "cli-cache"] == [cluster["id"]]
    as_yaml = yaml.safe_load(mredis(server, "cluster", "list", "--format", "yaml").out)
    assert as_yaml == listed
    table = mredis(server, "cluster", "list").out.splitlines()
    assert table[0].split()[:3] == ["ID", "NAME", "ENVIRONMENT"]
    assert any(line.split()[:2] == [cluster["id"], "cli-cache"] for line in table[1:])

    by_name = mredis(server, "cluster", "get", "cli-cache", "--format", "json").json()
    by_id = yaml.safe_load(mredis(server, "cluster", "get", cluster["id"], "--format", "yaml").out)
    assert by_name["id"] == by_id["id"] == cluster["id"]
    assert by_name == server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}").json()
    assert "name: cli-cache" in mredis(server, "cluster", "get", "cli-cache").out

    updated = mredis(
        server, "cluster", "update", "cli-cache", "--description", "from the CLI",
        "--redis-config", "maxmemoryPolicy=ALLKEYS_LRU", "--format", "json",
    ).json()  # fmt: skip
    assert updated["description"] == "from the CLI" and updated["labels"] == {"team": "cache"}
    assert updated["config"]["redis"]["userConfig"]["maxmemoryPolicy"] == "ALLKEYS_LRU"

    hosts = mredis(server, "cluster", "add-hosts", cluster["id"], "--host", "zone-id=ru-central1-d", "--format", "json")
    assert sorted(h["zoneId"] for h in hosts.json()) == ["ru-central1-a", "ru-central1-b", "ru-central1-d"]

    replica = next(h["name"] for h in hosts.json() if h.get("role") != "MASTER")
    changed = mredis(
        server, "cluster", "update-hosts", "cli-cache", "--host", f"host-name={replica},replica-priority=0"
    )
    assert changed.code == 0, changed.err
    assert any(line.split()[0] == replica and line.split()[-1] == "0" for line in changed.out.splitlines()[1:])

    user = mredis(
        server, "user", "create", "app", "--cluster", "cli-cache", "--password", "App-Password-1",
        "--patterns", "~app:*", "--categories", "+@read", "--format", "json",
    ).json()  # fmt: skip
    assert user["name"] == "app" and user["permissions"]["patterns"] == "~app:*"
    user = mredis(
        server, "user", "update", "app", "--cluster", cluster["id"], "--categories", "+@all", "--format", "json"
    )
    assert user.json()["permissions"]["categories"] == "+@all"
    assert [u["name"] for u in mredis(server, "user", "list", "--cluster", "cli-cache", "--format", "json").json()] == [
        "default", "app",
    ]  # fmt: skip
    assert mredis(server, "user", "delete", "app", "--cluster", "cli-cache").code == 0

    before = master(server, "cli-cache")
    failover = mredis(server, "cluster", "start-failover", cluster["id"], "--format", "json")
    assert failover.json()["id"] == cluster["id"]
    assert master(server, "cli-cache") != before


def test_connect_strings_reach_the_cluster_then_backup_restore_delete(server: RunningServer) -> None:
    created = mredis(
        server, "cluster", "create", "--name", "cli-data", "--resource-preset", "hm1.nano", "--password", PASSWORD,
        "--host", "zone-id=ru-central1-a", "--host", "zone-id=ru-central1-b", "--format", "json",
    )  # fmt: skip
    cluster_id = created.json()["id"]

    text = mredis(server, "cluster", "connect", "cli-data")
    assert text.code == 0 and PASSWORD not in text.out and "REDIS_PASSWORD" in text.out
    strings = mredis(server, "cluster", "connect", cluster_id, "--format", "json").json()
    assert strings["sentinel"]["masterName"] == "cli-data"
    shell = subprocess.run(
        ["bash", "-c", strings["redisCli"] + " set via-cli yes"], capture_output=True, text=True, timeout=30,
        env={**os.environ, "REDIS_PASSWORD": PASSWORD}, check=False,
    )  # fmt: skip
    assert shell.stdout.strip() == "OK", shell.stderr
    assert run_snippet(strings["redisPy"]["standalone"], PASSWORD, "print(client.get('via-cli').decode())") == "yes"
    assert (
        run_snippet(strings["redisPy"]["sentinel"], PASSWORD, "client.set('via-sentinel', 'yes'); print('ok')") == "ok"
    )

    backed_up = mredis(server, "cluster", "backup", "cli-data", "--format", "yaml")
    assert yaml.safe_load(backed_up.out)["id"] == cluster_id, backed_up.err
    backups = mredis(server, "cluster", "list-backups", "cli-data", "--format", "json").json()
    assert len(backups) == 1
    assert mredis(server, "backup", "get", backups[0]["id"], "--format", "json").json() == backups[0]

    restored = mredis(
        server, "cluster", "restore", "--backup-id", backups[0]["id"], "--name", "cli-restored",
        "--resource-preset", "hm1.nano", "--password", PASSWORD, "--host", "zone-id=ru-central1-a", "--format", "json",
    ).json()  # fmt: skip
    assert restored["name"] == "cli-restored" and restored["status"] == "RUNNING"
    host = master(server, restored["id"])
    assert redis.Redis(host=host, password=PASSWORD, socket_timeout=5).get("via-sentinel") == b"yes"

    assert [b["id"] for b in mredis(server, "backup", "list", "--format", "json").json()] == [backups[0]["id"]]
    assert mredis(server, "backup", "delete", backups[0]["id"]).code == 0
    assert mredis(server, "backup", "list", "--format", "json").json() == []

    for name in ("cli-data", restored["id"]):
        deleted = mredis(server, "cluster", "delete", name, "--format", "json")
        assert deleted.json() == {} and "Delete" in deleted.err
    gone = mredis(server, "cluster", "get", "cli-data")
    assert gone.code == 1 and "not found" in gone.err


def test_async_returns_the_operation_and_operation_wait_gives_the_cluster(server: RunningServer) -> None:
    started = mredis(
        server, "cluster", "create", "--name", "cli-async", "--resource-preset", "hm1.nano", "--password", PASSWORD,
        "--host", "zone-id=ru-central1-a", "--async", "--format", "json",
    ).json()  # fmt: skip
    assert not started.get("done") and started["metadata"]["clusterId"]  # done: false is omitted
    waited = mredis(server, "operation", "wait", started["id"], "--format", "json").json()
    assert waited["id"] == started["metadata"]["clusterId"] and waited["status"] == "RUNNING"
    operations = mredis(server, "operation", "list", "--cluster", "cli-async", "--format", "json").json()
    assert [o["id"] for o in operations] == [started["id"]]
    assert mredis(server, "operation", "get", started["id"], "--format", "json").json()["done"] is True

    logs = mredis(server, "cluster", "list-logs", "cli-async", "--limit", "5", "--format", "json").json()
    assert len(logs) == 5 and all(r["message"]["hostname"] for r in logs)
    assert mredis(server, "cluster", "stop", "cli-async", "--format", "json").json()["status"] == "STOPPED"
    assert mredis(server, "cluster", "start", "cli-async", "--format", "json").json()["status"] == "RUNNING"
    moved = mredis(
        server, "cluster", "move", "cli-async", "--destination-folder-id", "b1gotherfolder", "--format", "json"
    )
    assert moved.json()["folderId"] == "b1gotherfolder"
    assert mredis(server, "cluster", "get", "cli-async").code == 1  # no longer in MREDIS_FOLDER_ID
    assert mredis(server, "cluster", "delete", "cli-async", "--folder-id", "b1gotherfolder").code == 0


def test_bad_input_prints_the_apis_message_and_exits_non_zero(server: RunningServer) -> None:
    unknown = mredis(server, "cluster", "get", "no-such-cluster")
    assert unknown.code == 1 and unknown.out == ""
    assert "no-such-cluster" in unknown.err and "not found" in unknown.err

    bad_preset = mredis(
        server, "cluster", "create", "--name", "cli-bad", "--resource-preset", "hm1.nope", "--password", PASSWORD,
        "--host", "zone-id=ru-central1-a",
    )  # fmt: skip
    body = {
        "folderId": FOLDER, "name": "cli-bad", "environment": "PRODUCTION",
        "configSpec": {"resources": {"resourcePresetId": "hm1.nope"}, "redis": {"password": PASSWORD}},
        "hostSpecs": [{"zoneId": "ru-central1-a"}],
    }  # fmt: skip
    api = server.rest("POST", "/managed-redis/v1/clusters", json=body).json()
    assert bad_preset.code == 1 and bad_preset.err.strip() == f"mredis: error: {api['message']}"
    assert mredis(server, "cluster", "list", "--format", "json").json() == [
        c for c in mredis(server, "cluster", "list", "--format", "json").json() if c["name"] != "cli-bad"
    ]

    no_token = mredis(server, "version", "list", env={**cli_env(server), "MREDIS_TOKEN": "not-a-token"})
    assert no_token.code == 1 and "mredis: error:" in no_token.err
    usage = mredis(server, "cluster", "create", "--name", "x", "--host", "zone=ru-central1-a")
    assert usage.code == 2 and "unknown host key 'zone'" in usage.err


def test_catalogue_lists(server: RunningServer) -> None:
    presets = mredis(server, "resource-preset", "list", "--format", "json").json()
    assert presets[0]["id"] == "hm1.nano" and len(presets) > 2
    versions = yaml.safe_load(mredis(server, "version", "list", "--format", "yaml").out)
    assert any(v["id"] == os.environ.get("TEST_VERSION", "7.0") for v in versions)
    assert "hm1.nano" in mredis(server, "resource-preset", "list").out


def test_connect_strings_of_a_sharded_cluster_reach_every_shard(server: RunningServer) -> None:
    hosts = [f"--host=zone-id=ru-central1-a,shard-name=s{n}" for n in (1, 2, 3)]
    created = mredis(
        server, "cluster", "create", "--name", "cli-sharded", "--sharded", "--resource-preset", "hm1.nano",
        "--password", PASSWORD, *hosts, "--format", "json",
    )  # fmt: skip
    assert created.json()["sharded"] is True
    shards = mredis(server, "cluster", "list-shards", "cli-sharded", "--format", "json").json()
    assert sorted(s["name"] for s in shards) == ["s1", "s2", "s3"]
    strings = mredis(server, "cluster", "connect", "cli-sharded", "--format", "yaml")
    connect = yaml.safe_load(strings.out)
    assert "sentinel" not in connect
    keys = [f"key-{n}" for n in range(20)]
    sets = "; ".join(f"client.set({k!r}, 'v')" for k in keys)
    check = f"{sets}; print(sum(client.get(k) == b'v' for k in {keys!r}), len(client.get_primaries()))"
    assert run_snippet(connect["redisPy"]["cluster"], PASSWORD, check) == "20 3"
    shell = subprocess.run(
        ["bash", "-c", connect["redisCli"] + " get key-7"], capture_output=True, text=True, timeout=30,
        env={**os.environ, "REDIS_PASSWORD": PASSWORD}, check=False,
    )  # fmt: skip
    assert shell.stdout.strip() == "v", shell.stderr
    assert mredis(server, "cluster", "delete", "cli-sharded").code == 0


@requires_tls
def test_connect_strings_of_a_tls_cluster_use_the_service_ca(server: RunningServer) -> None:
    created = mredis(
        server, "cluster", "create", "--name", "cli-tls", "--tls-enabled", "--resource-preset", "hm1.nano",
        "--password", PASSWORD, "--host", "zone-id=ru-central1-a", "--format", "json",
    )  # fmt: skip
    assert created.json()["tlsEnabled"] is True
    connect = mredis(server, "cluster", "connect", "cli-tls", "--format", "json").json()
    assert f"--tls --cacert {server.data_dir / 'tls' / 'ca.pem'}" in connect["redisCli"]
    shell = subprocess.run(
        ["bash", "-c", connect["redisCli"] + " ping"], capture_output=True, text=True, timeout=30,
        env={**os.environ, "REDIS_PASSWORD": PASSWORD}, check=False,
    )  # fmt: skip
    assert shell.stdout.strip() == "PONG", shell.stderr
    assert run_snippet(connect["redisPy"]["standalone"], PASSWORD, "print(client.ping())") == "True"
    assert mredis(server, "cluster", "delete", "cli-tls").code == 0
