from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from managed_redis.store.database import Database
from managed_redis.store.migrations import migrate
from tests.support import postgres
from tests.support.processes import kill_all, redis_processes
from tests.support.server import RunningServer, host_network, running_server


@pytest.fixture(scope="module")
def network() -> str:
    return host_network()


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """Settings a test module adds to its server's environment (override it there)."""
    return {}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, network: str, server_env: dict[str, str]
) -> Iterator[RunningServer]:
    """One server per test module, with fast Sentinel failure detection and ``server_env``;
    every Redis process it started is killed afterwards, since they outlive the server by
    design."""
    env = {
        "MREDIS_HOST_NETWORK": network,
        "MREDIS_SENTINEL_DOWN_AFTER_S": os.environ.get("TEST_DOWN_AFTER_S", "2"),
        **server_env,
    }
    try:
        with running_server(tmp_path_factory.mktemp("server"), env=env) as running:
            yield running
    finally:
        kill_all(network)
        assert not redis_processes(network)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store's URL: a SQLite file, then a new PostgreSQL database (each test
    that asks runs once on each)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not postgres.available():
        pytest.fail("PostgreSQL is expected on 127.0.0.1:5432 (see README: test set-up)")
    with postgres.fresh_database() as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The store at ``database_url``, migrated; disposed of after the test."""
    database = Database(database_url)
    migrate(database)
    yield database
    database.dispose()
