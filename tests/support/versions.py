"""The version test clusters run (``TEST_VERSION``, else 7.0: ``tests/support/server.py``) and
what its binary here can do, so that a test needing what it lacks is skipped, saying why."""

from __future__ import annotations

import functools
import os

import pytest

from managed_redis.catalog.versions import RedisVersion, discover

TEST_VERSION = os.environ.get("TEST_VERSION", "7.0")


@functools.cache
def version_under_test() -> RedisVersion | None:
    """The version ``TEST_VERSION`` names, as this machine's binaries have it (None if absent)."""
    return next((v for v in discover() if v.id == TEST_VERSION), None)


def is_valkey() -> bool:
    """Whether test clusters run Valkey (whose logs and replies word some things otherwise)."""
    return TEST_VERSION.endswith("-valkey")


def tls_available() -> bool:
    """Whether the version under test was built with TLS here (``RedisVersion.tls``)."""
    version = version_under_test()
    return version is not None and version.tls


requires_tls = pytest.mark.skipif(
    not tls_available(),
    reason=f"{TEST_VERSION} on this machine is built without TLS (catalog.versions.tls_support); "
    "a TLS cluster on it is refused",
)


def since_redis_72() -> bool:
    """Whether the version under test words things as Redis 7.2 does (Valkey forked from it):
    its ready line names the listener, and ``ACL LIST`` keeps a user's rules as written."""
    version = version_under_test()
    return version is not None and (version.flavor != "redis" or (version.major, version.minor) >= (7, 2))


def ready_line() -> str:
    """What a server of the version under test logs once it listens: Redis 7.0 says ``Ready to
    accept connections``; Redis 7.2 and Valkey name the listener (``... connections tcp``)."""
    return "Ready to accept connections tcp" if since_redis_72() else "Ready to accept connections"
