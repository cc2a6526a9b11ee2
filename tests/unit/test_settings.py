from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from managed_redis.settings import SettingsError, load_settings


def test_defaults():
    settings = load_settings(flags={}, env={})
    assert settings.rest_addr == "127.0.0.1:9080"
    assert settings.grpc_addr == "127.0.0.1:9443"
    assert settings.host_network == ipaddress.IPv4Network("127.20.0.0/16")
    assert settings.effective_database_url.startswith("sqlite:///")


def test_file_then_env_then_flags(tmp_path: Path):
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


def test_bad_values_name_their_source(tmp_path: Path):
    with pytest.raises(SettingsError, match="MREDIS_HOST_NETWORK"):
        load_settings(env={"MREDIS_HOST_NETWORK": "not-a-network"})
    config = tmp_path / "bad.toml"
    config.write_text("no_such_setting = 1\n")
    with pytest.raises(SettingsError, match="unknown settings"):
        load_settings(env={}, config_file=config)
