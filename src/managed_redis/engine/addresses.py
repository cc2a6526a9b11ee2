"""Host addresses and ports: every host gets its own loopback address and the standard ports.

The whole 127.0.0.0/8 range is loopback on Linux, so an address there needs no set-up and
``redis-cli -h <address>`` reaches the host as it is. The host's name is its address.

A network with no room left is the caller's RESOURCE_EXHAUSTED (``AddressesExhausted``),
saying what is short and what to do, not a failure of the server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from managed_redis.errors import ResourceExhausted

REDIS_PORT = 6379
REDIS_TLS_PORT = 6380
SENTINEL_PORT = 26379
# Redis Cluster's bus listens on the client port + 10000.
CLUSTER_BUS_OFFSET = 10000


class AddressesExhausted(ResourceExhausted):
    """The host network has fewer free addresses than the hosts asked for."""


def allocate(network: ipaddress.IPv4Network, used: Iterable[str], count: int) -> list[str]:
    """The ``count`` lowest free addresses of ``network``, skipping x.x.x.0 and x.x.x.255.

    Raises AddressesExhausted (RESOURCE_EXHAUSTED) when fewer than ``count`` are free.
    """
    taken = set(used)
    found: list[str] = []
    for address in network.hosts():
        text = str(address)
        if text in taken or text.endswith((".0", ".255")):
            continue
        found.append(text)
        if len(found) == count:
            return found
    raise AddressesExhausted(
        f"the host network {network} has {len(found)} free addresses and {count} hosts need one each; "
        "delete hosts or clusters, or give the server a larger host network (MREDIS_HOST_NETWORK)"
    )
