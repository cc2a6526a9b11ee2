"""A loaded cluster: reading it and building its hosts' engine inputs writes nothing; a TLS
host's certificate is written only when ``issue_certificates`` is called for it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from managed_redis.operations.loaded_cluster import LoadedCluster
from tests.support.fake_world import make_world


def tls_cluster(tmp_path: Path) -> LoadedCluster:
    world = make_world(tmp_path)
    world.add_cluster("c1", hosts=2)
    loaded = LoadedCluster.load(world.db, world.deps, "c1")
    spec = {**(loaded.record.spec or {}), "cluster": {"tlsEnabled": True}}
    return dataclasses.replace(loaded, record=dataclasses.replace(loaded.record, spec=spec))


def test_building_nodes_and_sentinels_issues_no_certificate(tmp_path: Path) -> None:
    loaded = tls_cluster(tmp_path)
    master, replica = loaded.hosts
    node = loaded.node(replica, master)
    sentinel = loaded.sentinel(master, master)
    assert node.tls is not None and sentinel.tls is not None
    assert node.tls.cert_file == loaded.directory(replica) / "tls" / "host.pem"
    assert not node.tls.cert_file.exists() and not sentinel.tls.cert_file.exists()


def test_issue_certificates_writes_those_asked_for(tmp_path: Path) -> None:
    loaded = tls_cluster(tmp_path)
    master, replica = loaded.hosts
    loaded.issue_certificates([master])
    issued = loaded.tls_files(master)
    assert issued is not None and issued.cert_file.exists() and issued.key_file.exists()
    unissued = loaded.tls_files(replica)
    assert unissued is not None and not unissued.cert_file.exists()
    loaded.issue_certificates()
    assert unissued.cert_file.exists()


def test_a_cluster_without_tls_has_no_certificate_to_issue(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.add_cluster("c1", hosts=1)
    loaded = LoadedCluster.load(world.db, world.deps, "c1")
    loaded.issue_certificates()
    assert loaded.tls_files(loaded.hosts[0]) is None
    assert not (loaded.directory(loaded.hosts[0]) / "tls").exists()
