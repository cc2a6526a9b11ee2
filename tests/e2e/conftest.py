from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.processes import kill_all
from tests.support.server import RunningServer, host_network, running_server


@pytest.fixture(scope="module")
def cluster_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server for tests that create clusters; their processes are killed afterwards."""
    network = host_network()
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_SENTINEL_DOWN_AFTER_S": "2"}
    try:
        with running_server(tmp_path_factory.mktemp("e2e"), env=env) as running:
            yield running
    finally:
        kill_all(network)
