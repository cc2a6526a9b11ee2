"""Settings: where each value comes from, the names each source spells it by, and secrets."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from managed_redis import cli
from managed_redis.app import s3_access
from managed_redis.settings import SETTINGS, Settings, SettingsError, load_settings

# Every flag and environment variable that scripts, tests/support/server.py and users already
# pass: renaming a setting must not take one of them away.
KEPT_NAMES = {
    "MREDIS_DATA_DIR": "--data-dir",
    "MREDIS_REST_ADDR": "--rest-addr",
    "MREDIS_GRPC_ADDR": "--grpc-addr",
    "MREDIS_GRPC_ADVERTISE_ADDR": "--grpc-advertise-addr",
    "MREDIS_DATABASE_URL": "--database-url",
    "MREDIS_HOST_NETWORK": "--host-network",
    "MREDIS_ADMIN_TOKEN": None,
    "MREDIS_REDIS_BINARIES": "--redis-binaries",
    "MREDIS_BACKUP_STORE": "--backup-store",
    "MREDIS_SCHEDULER_PERIOD_S": "--scheduler-period-s",
    "MREDIS_SECRET_KEY": None,
    "MREDIS_SENTINEL_DOWN_AFTER_S": "--sentinel-down-after-s",
    "MREDIS_CLUSTER_NODE_TIMEOUT_S": "--cluster-node-timeout-s",
    "MREDIS_MIGRATE_BIG_KEY_MIB": None,
    "MREDIS_MIGRATE_RATE_MIB_S": None,
    "MREDIS_MIGRATE_MAX_BLOCK_S": None,
    "MREDIS_SUPERVISOR_PERIOD_S": "--supervisor-period-s",
    "MREDIS_FENCE_AFTER_S": "--fence-after-s",
    "MREDIS_MIN_REPLICAS_MAX_LAG_S": "--min-replicas-max-lag-s",
    "MREDIS_MACHINE_MEMORY_GIB": "--machine-memory-gib",
    "MREDIS_MEMORY_OVERCOMMIT": "--memory-overcommit",
    "MREDIS_WORKER_THREADS": "--worker-threads",
    "MREDIS_LEASE_S": "--lease-s",
    "MREDIS_WORKER_POLL_S": "--worker-poll-s",
    "MREDIS_EMBEDDED_WORKER": "--embedded-worker",
    "MREDIS_LOG_LEVEL": "--log-level",
    # Read by the S3 backup store before it had settings of its own.
    "MREDIS_S3_ENDPOINT_URL": "--s3-endpoint-url",
    "AWS_ENDPOINT_URL": "--s3-endpoint-url",
    "AWS_REGION": "--s3-region",
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
}

# A text each declared type parses.
SAMPLES: dict[object, str] = {
    str: "somewhere",
    Path: "/somewhere",
    int: "7",
    float: "7.5",
    bool: "false",
    ipaddress.IPv4Network: "127.30.0.0/16",
    tuple[str, ...]: "/a/redis-server:/b/redis-server",
}


def test_defaults() -> None:
    settings = load_settings(flags={}, env={})
    assert settings.rest_addr == "127.0.0.1:9080"
    assert settings.grpc_addr == "127.0.0.1:9443"
    assert settings.host_network == ipaddress.IPv4Network("127.20.0.0/16")
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.s3_region == "us-east-1" and settings.s3_endpoint_url is None


def test_file_then_env_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "mredis.toml"
    config.write_text('rest_addr = "127.0.0.1:1"\ngrpc_addr = "127.0.0.1:2"\nworker_threads = 7\n')
    settings = load_settings(
        flags={"grpc_addr": "127.0.0.1:4"},
        env={"MREDIS_GRPC_ADDR": "127.0.0.1:3", "MREDIS_REST_ADDR": "127.0.0.1:5"},
        config_file=config,
    )
    assert settings.rest_addr == "127.0.0.1:5"
    assert settings.grpc_addr == "127.0.0.1:4"
    assert settings.worker_threads == 7


def test_a_file_holds_native_toml_values(tmp_path: Path) -> None:
    config = tmp_path / "mredis.toml"
    config.write_text('redis_binaries = ["/opt/a/redis-server", "/opt/b/valkey-server"]\nembedded_worker = false\n')
    settings = load_settings(env={}, config_file=config)
    assert settings.redis_binaries == ("/opt/a/redis-server", "/opt/b/valkey-server")
    assert settings.embedded_worker is False


def test_bad_values_name_their_source(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="MREDIS_HOST_NETWORK"):
        load_settings(env={"MREDIS_HOST_NETWORK": "not-a-network"})
    with pytest.raises(SettingsError, match="--machine-memory-gib: expected a number above 0"):
        load_settings(flags={"machine_memory_gib": "0"}, env={})
    config = tmp_path / "bad.toml"
    config.write_text("no_such_setting = 1\n")
    with pytest.raises(SettingsError, match="unknown settings"):
        load_settings(env={}, config_file=config)


@pytest.mark.parametrize(("variable", "flag"), KEPT_NAMES.items())
def test_every_name_in_use_still_sets_its_setting(variable: str, flag: str | None) -> None:
    (spec,) = (spec for spec in SETTINGS if variable in spec.env_names)
    assert spec.flag == flag
    text = SAMPLES[spec.kind]
    from_env = load_settings(env={variable: text})
    assert getattr(from_env, spec.name) == spec.parse(text)
    if flag is not None:
        args = cli._parser().parse_args(["worker", flag, text])
        assert getattr(args, spec.name) == text


def test_the_mredis_name_wins_over_boto3s() -> None:
    env = {"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://aws:1", "MREDIS_S3_ENDPOINT_URL": "http://mine:2"}
    settings = load_settings(env=env)
    assert settings.s3_region == "eu-west-1"
    assert settings.s3_endpoint_url == "http://mine:2"
    assert load_settings(flags={"s3_region": "ru-central1"}, env=env).s3_region == "ru-central1"


def test_names_follow_one_rule() -> None:
    for spec in SETTINGS:
        assert spec.env == f"MREDIS_{spec.name.upper()}"
        assert spec.flag in (None, "--" + spec.name.replace("_", "-"))
    assert [spec.name for spec in SETTINGS] == [field.name for field in dataclasses.fields(Settings)]


def test_secrets_stay_off_the_command_line_and_out_of_repr() -> None:
    secrets = {spec.name for spec in SETTINGS if spec.secret}
    assert secrets == {"admin_token", "secret_key", "s3_secret_access_key", "s3_session_token"}
    assert all(spec.flag is None for spec in SETTINGS if spec.secret)
    settings = load_settings(
        env={
            "MREDIS_ADMIN_TOKEN": "token-1f0e",
            "MREDIS_SECRET_KEY": "key-9c2a",
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret-77b1",
            "AWS_SESSION_TOKEN": "session-4d3c",
        }
    )
    access = s3_access(settings)
    assert (access.access_key_id, access.secret_access_key, access.session_token) == (
        "AKIDEXAMPLE",
        "secret-77b1",
        "session-4d3c",
    )
    shown = repr(settings) + repr(access)
    for value in ("token-1f0e", "key-9c2a", "secret-77b1", "session-4d3c"):
        assert value not in shown
