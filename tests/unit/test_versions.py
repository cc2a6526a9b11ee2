"""Versions are found from the binaries themselves, including extra ones from the settings."""

from __future__ import annotations

import stat
from pathlib import Path

from managed_redis.catalog.versions import discover, parse_version_output, updatable_to


def test_parse_redis_and_valkey() -> None:
    redis = parse_version_output("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64", "/r")
    assert redis is not None and (redis.id, redis.full_version, redis.name) == ("7.0", "7.0.15", "Redis 7.0")
    valkey = parse_version_output("Valkey server v=8.0.1 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64", "/v")
    assert valkey is not None and valkey.id == "8.0-valkey"
    assert parse_version_output("something else", "/x") is None


def test_extra_binaries_add_versions(tmp_path: Path) -> None:
    fake = tmp_path / "valkey-server"
    fake.write_text("#!/bin/sh\necho 'Valkey server v=8.1.3 sha=0 malloc=libc bits=64'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    versions = discover([str(fake)])
    ids = [v.id for v in versions]
    assert ids.index("7.0") < ids.index("8.1-valkey")  # redis-server 7.0 is on PATH here
    redis_7 = versions[ids.index("7.0")]
    assert "8.1-valkey" in updatable_to(redis_7, versions)
    assert updatable_to(versions[ids.index("8.1-valkey")], versions) == []
