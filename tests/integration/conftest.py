from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.processes import kill_all, redis_processes
from tests.support.server import RunningServer, host_network, running_server


@pytest.fixture(scope="module")
def network() -> str:
    return host_network()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, network: str) -> Iterator[RunningServer]:
    """One server per test module, with fast Sentinel failure detection; every Redis process
    it started is killed afterwards, since they outlive the server by design."""
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_SENTINEL_DOWN_AFTER_S": os.environ.get("TEST_DOWN_AFTER_S", "2")}
    try:
        with running_server(tmp_path_factory.mktemp("server"), env=env) as running:
            yield running
    finally:
        kill_all(network)
        assert not redis_processes(network)
