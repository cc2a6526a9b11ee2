"""A TLS cluster accepts only TLS clients that trust the service CA; replication is TLS too."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
import redis
import redis.sentinel

from tests.support.clusters import PASSWORD, create_cluster, hosts_of, master_of
from tests.support.server import RunningServer, wait_until
from tests.support.versions import requires_tls

pytestmark = requires_tls


def test_tls_cluster(server: RunningServer) -> None:
    cluster = create_cluster(server, "tls-cluster", hosts=3, tlsEnabled=True)
    assert cluster["tlsEnabled"] is True
    hosts = [h["name"] for h in hosts_of(server, cluster["id"])]
    master = master_of(server, cluster["id"])
    ca = str(server.data_dir / "tls" / "ca.pem")

    def tls_client(host: str, **kwargs: Any) -> redis.Redis:
        return redis.Redis(
            host=host,
            port=6380,
            password=PASSWORD,
            ssl=True,
            ssl_ca_certs=ca,
            socket_timeout=3,
            decode_responses=True,
            **kwargs,
        )

    tls_client(master).set("secure", "yes")
    for host in hosts:
        wait_until(lambda h=host: tls_client(h).get("secure") == "yes", message=f"{host} did not replicate over TLS")
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host=master, port=6379, password=PASSWORD, socket_timeout=2).ping()
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host=master, port=6380, password=PASSWORD, socket_timeout=2).ping()
    with pytest.raises((redis.ConnectionError, ssl.SSLError)):
        redis.Redis(
            host=master, port=6380, password=PASSWORD, ssl=True, ssl_cert_reqs="required", socket_timeout=2
        ).ping()

    sentinel = redis.sentinel.Sentinel([(h, 26379) for h in hosts], socket_timeout=1)
    assert sentinel.discover_master("tls-cluster") == (master, 6380)
    via = sentinel.master_for("tls-cluster", password=PASSWORD, ssl=True, ssl_ca_certs=ca, socket_timeout=2)
    assert via.get("secure") == b"yes"
