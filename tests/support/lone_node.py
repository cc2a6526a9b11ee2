"""One redis-server for tests of the local engine below the control plane: a ``Node`` on an
address of its own, and every process on that address's network killed afterwards."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from managed_redis.engine.model import Credentials, Node
from tests.support.processes import kill_all
from tests.support.server import host_network


@contextmanager
def lone_node(directory: Path, credentials: Credentials, **fields: Any) -> Iterator[Node]:
    """A ``Node`` (``fields`` as in ``Node``) on the first address of a fresh host network,
    its files in ``directory``/<address>; whatever runs on that network is killed as the
    block ends, started by the test or not."""
    network = host_network()
    address = str(next(ipaddress.ip_network(network).hosts()))
    try:
        yield Node(address, address, directory / address, "redis-server", credentials, **fields)
    finally:
        kill_all(network)
