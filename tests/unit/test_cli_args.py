"""The client commands' arguments: yc-style --host specs, update masks, sizes, usage errors."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from managed_redis import cli
from managed_redis.client_cli import api_client, specs
from managed_redis.client_cli.clusters import update_body
from managed_redis.client_cli.connect import connection_strings


def parse(*argv: str) -> argparse.Namespace:
    return cli._parser().parse_args(argv)


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("zone-id=ru-central1-a", {"zoneId": "ru-central1-a"}),
        (
            "zone-id=ru-central1-b,shard-name=s2,replica-priority=50,subnet-id=e9b",
            {"zoneId": "ru-central1-b", "shardName": "s2", "replicaPriority": "50", "subnetId": "e9b"},
        ),
        ("zone-id=ru-central1-d, assign-public-ip=TRUE", {"zoneId": "ru-central1-d", "assignPublicIp": True}),
    ],
)
def test_host_spec_becomes_the_apis_host_spec(text: str, spec: dict[str, object]) -> None:
    assert specs.host_spec(text) == spec


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("zone=ru-central1-a", "unknown host key 'zone'"),
        ("zone-id", "is not key=value"),
        ("zone-id=a,replica-priority=high", "replica-priority must be a number"),
        ("zone-id=a,assign-public-ip=maybe", "assign-public-ip must be true or false"),
        ("", "an empty --host"),
    ],
)
def test_bad_host_spec_says_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=complaint):
        specs.host_spec(text)


def test_update_host_spec_masks_what_was_given() -> None:
    assert specs.update_host_spec("host-name=h1,replica-priority=0") == {
        "hostName": "h1",
        "replicaPriority": "0",
        "updateMask": "replicaPriority",
    }
    with pytest.raises(argparse.ArgumentTypeError, match="host-name is required"):
        specs.update_host_spec("replica-priority=0")
    with pytest.raises(argparse.ArgumentTypeError, match="cannot change zoneId"):
        specs.update_host_spec("host-name=h1,zone-id=a")


def test_create_flags_become_a_create_request() -> None:
    args = parse(
        "cluster", "create", "--name", "cache", "--resource-preset", "hm1.nano", "--disk-size", "16",
        "--password", "P-assw0rd-1", "--host", "zone-id=ru-central1-a,shard-name=s1", "--host", "zone-id=ru-central1-b",
        "--sharded", "--tls-enabled", "--persistence-mode", "OFF", "--labels", "env=prod,team=cache",
        "--backup-window-start", "03:30", "--redis-version", "7.0",
    )  # fmt: skip
    assert specs.new_cluster_body(args) == {
        "name": "cache",
        "environment": "PRODUCTION",
        "configSpec": {
            "resources": {"resourcePresetId": "hm1.nano", "diskSize": str(16 * 2**30)},
            "redis": {"password": "P-assw0rd-1"},
            "version": "7.0",
            "backupWindowStart": {"hours": 3, "minutes": 30},
        },
        "hostSpecs": [{"zoneId": "ru-central1-a", "shardName": "s1"}, {"zoneId": "ru-central1-b"}],
        "labels": {"env": "prod", "team": "cache"},
        "persistenceMode": "OFF",
        "sharded": True,
        "tlsEnabled": True,
    }


def test_update_flags_name_only_what_changes_in_camel_case_mask() -> None:
    args = parse(
        "cluster", "update", "cache", "--new-name", "cache2", "--resource-preset", "hm1.micro",
        "--deletion-protection", "true", "--redis-config", "maxmemoryPolicy=ALLKEYS_LRU,timeout=60",
    )  # fmt: skip
    body = update_body(args)
    assert body["updateMask"].split(",") == [
        "name",
        "deletionProtection",
        "configSpec.resources.resourcePresetId",
        "configSpec.redis.maxmemoryPolicy",
        "configSpec.redis.timeout",
    ]
    assert body["configSpec"] == {
        "resources": {"resourcePresetId": "hm1.micro"},
        "redis": {"maxmemoryPolicy": "ALLKEYS_LRU", "timeout": "60"},
    }
    assert body["name"] == "cache2" and body["deletionProtection"] is True


@pytest.mark.parametrize(
    "argv",
    [
        ["cluster", "create", "--name", "x", "--host", "zone=a"],
        ["cluster", "create", "--name", "x", "--disk-size", "lots"],
        ["cluster", "create", "--name", "x", "--backup-window-start", "25:00"],
        ["cluster", "get"],
        ["cluster", "get", "x", "--format", "xml"],
        ["cluster", "frobnicate"],
        ["user", "list"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert "usage: mredis" in capsys.readouterr().err


def test_connection_comes_from_flags_then_environment_then_profile_then_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "config.toml"
    profile.write_text('endpoint = "10.0.0.1:9080"\ntoken = "from-profile"\nfolder-id = "f-profile"\n')
    (tmp_path / "admin-token").write_text("local-admin\n")
    monkeypatch.setenv("MREDIS_CLI_CONFIG", str(profile))
    monkeypatch.setenv("MREDIS_DATA_DIR", str(tmp_path))
    for name in ("MREDIS_ENDPOINT", "MREDIS_TOKEN", "MREDIS_FOLDER_ID"):
        monkeypatch.delenv(name, raising=False)
    assert api_client.resolve_connection(None, None, None) == api_client.Connection(
        "http://10.0.0.1:9080", "from-profile", "f-profile"
    )
    monkeypatch.setenv("MREDIS_TOKEN", "from-env")
    assert api_client.resolve_connection("http://h:1/", None, "f").token == "from-env"
    assert api_client.resolve_connection("http://h:1/", "flag", "f").endpoint == "http://h:1"
    profile.unlink()
    monkeypatch.delenv("MREDIS_TOKEN")
    local = api_client.resolve_connection(None, None, None)
    assert local == api_client.Connection("http://127.0.0.1:9080", "local-admin", None)


def test_connection_strings_never_hold_the_password_and_fit_the_topology() -> None:
    hosts = [{"name": "127.1.0.1", "role": "REPLICA"}, {"name": "127.1.0.2", "role": "MASTER"}]
    cluster = {"id": "c9q1", "name": "cache", "tlsEnabled": True, "config": {"redis": {"password": "x"}}}
    tls = connection_strings(cluster, hosts, "/ca.pem")
    assert tls["redisCli"] == 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.1.0.2 -p 6380 --tls --cacert /ca.pem'
    assert tls["sentinel"] == {"masterName": "cache", "addresses": ["127.1.0.1:26379", "127.1.0.2:26379"]}
    assert "ssl_ca_certs='/ca.pem'" in tls["redisPy"]["sentinel"]
    sharded = connection_strings({"id": "c9q2", "name": "big", "sharded": True}, hosts, "/ca.pem")
    assert sharded["redisCli"].endswith("redis-cli -c -h 127.1.0.2 -p 6379") and "sentinel" not in sharded
    assert "ClusterNode('127.1.0.1', 6379)" in sharded["redisPy"]["cluster"]


def test_shell_completion_offers_the_commands() -> None:
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_IFS": " ",
        "COMP_LINE": "mredis cluster li",
        "COMP_POINT": "17",
    }
    done = subprocess.run(
        f"{Path(sys.executable).parent / 'mredis'} 8>&1 9>/dev/null",
        shell=True, env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.stdout.split() == ["list", "list-hosts", "list-shards", "list-backups", "list-operations", "list-logs"]
