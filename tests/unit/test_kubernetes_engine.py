"""The Kubernetes engine's logic against a fake API server (tests/support/fake_kube.py) and
in-memory Redis/Sentinel (tests/support/fake_redis_net.py): create, scale hosts and shards,
failover, fencing, stop/start, delete, backup/restore, observe. No API server and no
process: what a real cluster adds (scheduling, volumes, images, networking) is for the e2e
run of scripts/e2e-kubernetes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import redis

from managed_redis.catalog.presets import GIB
from managed_redis.engine import redis_side
from managed_redis.engine.cluster_mode import RedisClusterOps
from managed_redis.engine.connections import Connections, Endpoint
from managed_redis.engine.errors import EngineError
from managed_redis.engine.facts import ProcessState, Role
from managed_redis.engine.kubernetes import engine as kube_engine
from managed_redis.engine.kubernetes import names
from managed_redis.engine.kubernetes.api import Manifest
from managed_redis.engine.kubernetes.engine import KubernetesEngine
from managed_redis.engine.kubernetes.options import KubernetesOptions
from managed_redis.engine.model import Credentials, Node, Placement, Sentinel, TlsFiles, WatchedHost
from tests.support.fake_kube import FakeKube
from tests.support.fake_redis_net import FakeClient, FakeProber, keys_of_snapshot

CLUSTER = "c9qkube0000000000001"
NS = f"mredis-{CLUSTER}"
CREDENTIALS = Credentials(password="customer-secret", admin_password="admin-secret")


@pytest.fixture
def kube(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKube]:
    fake = FakeKube()
    monkeypatch.setattr(redis_side, "connect", fake.net.connect)
    monkeypatch.setattr(kube_engine, "Prober", lambda: FakeProber(fake.net))
    monkeypatch.setattr(kube_engine, "POLL_S", 0.001)
    yield fake


def make_engine(kube: FakeKube, namespace: str | None = None) -> KubernetesEngine:
    options = KubernetesOptions(namespace=namespace, ready_timeout_s=1.0)
    engine = KubernetesEngine(kube, options, connections=cast(Connections, kube.net))
    engine._probers.prober = FakeProber(kube.net)
    return engine


def got(kube: FakeKube, kind: str, namespace: str | None, name: str) -> Manifest:
    """The object, which must be there."""
    found = kube.get(kind, namespace, name)
    assert found is not None, f"no {kind} {namespace}/{name}"
    return found


def node(
    tmp: Path,
    address: str,
    shard: str = "shard1",
    master: Node | None = None,
    cluster: str = CLUSTER,
    cluster_mode: bool = False,
    priority: int = 100,
    zone: str = "ru-central1-a",
) -> Node:
    return Node(
        name=address,
        address=address,
        directory=tmp / "hosts" / address,
        binary="redis-server",
        credentials=CREDENTIALS,
        replica_of=master.address if master else None,
        replica_priority=priority,
        cluster_mode=cluster_mode,
        placement=Placement(cluster, shard, zone, 2, 8 * GIB, 16 * GIB, "redis", "7.0.15"),
    )


def sentinel(host: Node, master: Node, members: list[Node]) -> Sentinel:
    return Sentinel(
        name=host.name,
        address=host.address,
        directory=host.directory,
        binary="redis-server",
        credentials=CREDENTIALS,
        master_name="orders",
        master_address=master.address,
        quorum=2,
        down_after_ms=5000,
        sentinel_ids={m.address: f"{i:040d}" for i, m in enumerate(members)},
        replicas=tuple(m.address for m in members if m is not master),
        placement=host.placement,
    )


def admin(kube: FakeKube, host: Node) -> FakeClient:
    """A client of ``host`` as the customer's application would reach it (its address)."""
    return kube.net.client(Endpoint(host.address, host.port, "default", CREDENTIALS.password))


def sentinel_shard(engine: KubernetesEngine, tmp: Path, count: int = 3) -> list[Node]:
    """A non-sharded cluster started as ``steps.start_shard`` and ``start_sentinels`` do."""
    master = node(tmp, "10.96.200.1")
    hosts = [master] + [
        node(tmp, f"10.96.200.{i}", master=master, zone=f"ru-central1-{'abd'[(i - 1) % 3]}")
        for i in range(2, count + 1)
    ]
    for host in hosts:
        engine.ensure_node(host)
    for replica in hosts[1:]:
        engine.wait_in_sync(replica, master, timeout_s=1)
    sentinels = [sentinel(host, master, hosts) for host in hosts]
    for each in sentinels:
        engine.ensure_sentinel(each)
    engine.wait_quorum(sentinels)
    return hosts


def test_create_places_every_host_behind_its_address(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    master, *replicas = sentinel_shard(engine, tmp_path)
    statefulset = names.statefulset(CLUSTER, "shard1")

    assert kube.names_of("Namespace") == [NS]
    assert got(kube, "StatefulSet", NS, statefulset)["spec"]["replicas"] == 3
    services = {s["spec"]["clusterIP"]: s for s in kube.list("Service", NS, {names.LABEL_SHARD: statefulset})}
    ordinals = {
        ip: s["metadata"]["annotations"][names.ANNOTATION_ORDINAL] for ip, s in services.items() if ip != "None"
    }
    assert ordinals == {"10.96.200.1": "0", "10.96.200.2": "1", "10.96.200.3": "2"}
    assert kube.get("PodDisruptionBudget", NS, statefulset) is not None
    assert kube.get("Secret", NS, names.password_secret(CLUSTER)) is not None
    assert {c["name"] for c in got(kube, "StatefulSet", NS, statefulset)["spec"]["template"]["spec"]["containers"]} == {
        "redis",
        "sentinel",
    }
    # The config in each pod is conf.py's, for the pod: binds the pod, announces the address.
    conf = kube.files(NS, f"{statefulset}-1")["redis.conf"].decode()
    assert "bind 0.0.0.0\n" in conf and "replica-announce-ip 10.96.200.2\n" in conf
    assert "bind-source-addr" not in conf and "daemonize no\n" in conf and 'dir "/data"' in conf
    assert "replicaof 10.96.200.1 6379\n" in conf
    # Redis behind each address: replicas follow the master, Sentinels name it.
    for replica in replicas:
        assert engine.replication(replica)["master_host"] == master.address
        assert engine.node_running(replica)
    assert engine.master_seen_by(sentinel(master, master, [master, *replicas])) == master.address
    # The zones of the shard's hosts are where its pods prefer to go.
    zones = got(kube, "StatefulSet", NS, statefulset)["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    assert zones["preferredDuringSchedulingIgnoredDuringExecution"][0]["preference"]["matchExpressions"][0][
        "values"
    ] == [
        "ru-central1-a",
        "ru-central1-b",
        "ru-central1-d",
    ]
    # Every object created was valid against the 1.37 schemas (FakeKube.apply validates).
    assert {obj["kind"] for obj in kube.created} == {
        "Namespace",
        "Secret",
        "Service",
        "StatefulSet",
        "PodDisruptionBudget",
    }


def test_ensure_node_again_adopts_the_running_host(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    master, *_ = sentinel_shard(engine, tmp_path)
    running = kube.net.redis_at(master.address)
    engine.ensure_node(master)
    assert kube.net.redis_at(master.address) is running  # not restarted
    assert got(kube, "StatefulSet", NS, names.statefulset(CLUSTER, "shard1"))["spec"]["replicas"] == 3


def remove(engine: KubernetesEngine, host: Node) -> None:
    """As ``steps.remove_hosts``: stop without saving, then remove the directory."""
    engine.stop_node(host, save=False)
    engine.remove_directory(host.directory)


def test_scale_hosts_up_and_down(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    master, second, third = sentinel_shard(engine, tmp_path)
    statefulset = names.statefulset(CLUSTER, "shard1")
    fourth = node(tmp_path, "10.96.200.4", master=master)
    engine.ensure_node(fourth)
    assert got(kube, "StatefulSet", NS, statefulset)["spec"]["replicas"] == 4
    assert engine.replication(fourth)["master_host"] == master.address

    # The top host goes: the set shrinks and its claim goes with it.
    remove(engine, fourth)
    assert got(kube, "StatefulSet", NS, statefulset)["spec"]["replicas"] == 3
    assert names.claim(statefulset, 3) not in kube.names_of("PersistentVolumeClaim", NS)
    assert names.host_service(fourth.name) not in kube.names_of("Service", NS)
    assert not engine.node_running(fourth)

    # A host in the middle goes: its pod stays, parked and wiped, until the hosts above go.
    remove(engine, second)
    assert got(kube, "StatefulSet", NS, statefulset)["spec"]["replicas"] == 3
    assert kube.files(NS, f"{statefulset}-1") == {}
    assert kube.net.redis_at(second.address) is None
    # A new host never takes the parked ordinal (its pod may hold the old host's files).
    fifth = node(tmp_path, "10.96.200.5", master=master)
    engine.ensure_node(fifth)
    assert engine.locate(fifth.name, NS).ordinal == 3  # type: ignore[union-attr]
    remove(engine, fifth)
    remove(engine, third)
    assert got(kube, "StatefulSet", NS, statefulset)["spec"]["replicas"] == 1
    assert engine.node_running(master)


def test_scale_shards(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    shards = {}
    for index, shard in enumerate(["shard1", "shard2", "shard3"], start=1):
        master = node(tmp_path, f"10.96.201.{index}0", shard=shard, cluster_mode=True)
        replica = node(tmp_path, f"10.96.201.{index}1", shard=shard, master=master, cluster_mode=True)
        for host in (master, replica):
            engine.ensure_node(host)
        shards[shard] = (master, replica)
    sets = kube.names_of("StatefulSet", NS)
    assert sets == sorted(names.statefulset(CLUSTER, shard) for shard in shards)
    template = got(kube, "StatefulSet", NS, sets[0])["spec"]["template"]["spec"]
    assert [c["name"] for c in template["containers"]] == ["redis"]  # no Sentinel in Redis Cluster mode
    conf = kube.files(NS, f"{sets[0]}-0")["redis.conf"].decode()
    assert "cluster-enabled yes\n" in conf and "cluster-announce-ip 10.96.201.10\n" in conf
    assert [p["name"] for p in got(kube, "Service", NS, names.host_service("10.96.201.10"))["spec"]["ports"]] == [
        "redis",
        "bus",
    ]

    # DeleteShard: its hosts go, and with the last one the shard's objects.
    for host in shards["shard2"]:
        remove(engine, host)
    gone = names.statefulset(CLUSTER, "shard2")
    assert gone not in kube.names_of("StatefulSet", NS)
    assert gone not in kube.names_of("PodDisruptionBudget", NS)
    assert gone not in kube.names_of("Service", NS)
    assert not [claim for claim in kube.names_of("PersistentVolumeClaim", NS) if claim.startswith(f"data-{gone}-")]
    assert names.cluster_service(CLUSTER) in kube.names_of("Service", NS)
    assert engine.node_running(shards["shard3"][0])


def test_sentinel_failover_promotes_the_replica_it_may(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    master = node(tmp_path, "10.96.202.1")
    never = node(tmp_path, "10.96.202.2", master=master, priority=0)
    chosen = node(tmp_path, "10.96.202.3", master=master)
    hosts = [master, never, chosen]
    for host in hosts:
        engine.ensure_node(host)
    sentinels = [sentinel(host, master, hosts) for host in hosts]
    for each in sentinels:
        engine.ensure_sentinel(each)
    admin(kube, master).set("order:1", "paid")

    engine.request_failover(sentinels[0])

    assert engine.master_seen_by(sentinels[1]) == chosen.address
    assert engine.replication(chosen)["role"] == "master"
    assert engine.replication(master)["master_host"] == chosen.address
    assert engine.replication(never)["master_host"] == chosen.address
    assert engine.keyspace(chosen) == {"db0": 1}


def test_cluster_mode_failover(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    master = node(tmp_path, "10.96.203.1", cluster_mode=True)
    replica = node(tmp_path, "10.96.203.2", master=master, cluster_mode=True)
    for host in (master, replica):
        engine.ensure_node(host)
    engine.replicate_from(replica, master)  # as CLUSTER REPLICATE would

    RedisClusterOps(engine).failover(replica)

    assert engine.replication(replica)["role"] == "master"
    assert engine.replication(master)["master_host"] == replica.address


def test_stop_saves_and_start_brings_the_data_back(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    master = node(tmp_path, "10.96.204.1")
    engine.ensure_node(master)
    admin(kube, master).set("k", "v")
    engine.stop_node(master, save=True)
    assert not engine.node_running(master)
    pod = f"{names.statefulset(CLUSTER, 'shard1')}-0"
    assert keys_of_snapshot(kube.files(NS, pod)["dump.rdb"]) == {"k": "v"}
    engine.ensure_node(master)
    assert engine.keyspace(master) == {"db0": 1}


def test_fence_kills_redis_or_deletes_its_pod(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    master, replica, _ = sentinel_shard(engine, tmp_path)
    engine.fence(master)
    assert kube.net.redis_at(master.address) is None
    assert not engine.node_running(master)

    # A pod that cannot be reached is deleted; it comes back with its Redis down.
    pod = f"{names.statefulset(CLUSTER, 'shard1')}-1"
    kube.unreachable.add(pod)
    engine.fence(replica)
    kube.unreachable.discard(pod)
    assert kube.net.redis_at(replica.address) is None
    assert kube.get("Pod", NS, pod) is not None  # the StatefulSet made it again
    assert not engine.node_running(replica)
    engine.ensure_node(replica)  # the supervisor brings it back, as a replica
    assert engine.replication(replica)["master_host"] == master.address


def test_delete_cluster_removes_every_object(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    hosts = sentinel_shard(engine, tmp_path)
    for host in hosts:
        engine.stop_sentinel(sentinel(host, hosts[0], hosts))
    for host in hosts:
        remove(engine, host)
    assert kube.objects == {}
    assert not (tmp_path / "hosts").exists() or not list((tmp_path / "hosts").iterdir())
    assert kube.net.servers == {}


def test_delete_cluster_in_a_configured_namespace_leaves_the_namespace(kube: FakeKube, tmp_path: Path) -> None:
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "redis", "labels": {}}})
    engine = make_engine(kube, namespace="redis")
    hosts = sentinel_shard(engine, tmp_path, count=2)
    assert names.statefulset(CLUSTER, "shard1") in kube.names_of("StatefulSet", "redis")
    for host in hosts:
        remove(engine, host)
    assert list(kube.objects) == [("Namespace", None, "redis")]


def test_backup_then_restore_into_a_new_cluster(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    master, replica, _ = sentinel_shard(engine, tmp_path)
    for index in range(5):
        admin(kube, master).set(f"key:{index}", str(index))

    saved = engine.bgsave(replica)  # as backups.save_shard: from an in-sync replica

    assert saved == replica.directory / "dump.rdb"
    assert keys_of_snapshot(saved.read_bytes()) == {f"key:{i}": str(i) for i in range(5)}

    # restore.load_shard: the verified file is staged as the new master's, then loaded.
    new = "c9qkube0000000000002"
    target = node(tmp_path, "10.96.210.1", cluster=new)
    target_replica = node(tmp_path, "10.96.210.2", cluster=new, master=target)
    target.directory.mkdir(parents=True)
    engine.rdb_path(target).write_bytes(saved.read_bytes())
    engine.share_snapshot(target, target_replica)
    for loader in (target, target_replica):
        engine.load_snapshot(loader)

    assert engine.keyspace(target) == {"db0": 5}
    assert engine.replication(target_replica)["master_host"] == target.address
    # It came up from the snapshot with its AOF off, then turned the AOF on.
    assert admin(kube, target).config_get("appendonly") == {"appendonly": "yes"}
    with pytest.raises(EngineError, match="already runs"):
        engine.load_snapshot(target)


def test_an_address_taken_in_the_service_network_says_so(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    engine.ensure_node(node(tmp_path, "10.96.205.1"))
    other = dataclasses.replace(node(tmp_path, "10.96.205.1", cluster="c9qkube0000000000003"), name="10.96.205.9")
    with pytest.raises(EngineError, match="MREDIS_HOST_NETWORK"):
        engine.ensure_node(other)


def test_restart_into_another_mode_is_refused_before_touching_anything(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    master = node(tmp_path, "10.96.206.1")
    engine.ensure_node(master)
    with pytest.raises(EngineError, match="not supported by the kubernetes engine"):
        engine.restart_from_snapshot(master, dataclasses.replace(master, cluster_mode=True))
    assert engine.node_running(master)


def test_tls_hosts_get_their_certificates_from_a_secret(kube: FakeKube, tmp_path: Path) -> None:
    files = {}
    for name in ("cert", "key", "ca"):
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_text(f"-----{name}-----")
    tls = TlsFiles(files["cert"], files["key"], files["ca"])
    engine = make_engine(kube)
    master = dataclasses.replace(node(tmp_path, "10.96.207.1"), tls=tls)
    engine.ensure_node(master)
    statefulset = names.statefulset(CLUSTER, "shard1")
    secret = kube.get("Secret", NS, names.tls_secret(statefulset))
    assert secret is not None and sorted(secret["data"]) == ["0.crt", "0.key", "ca.crt"]
    conf = kube.files(NS, f"{statefulset}-0")["redis.conf"].decode()
    assert 'tls-cert-file "/tls/0.crt"' in conf and "tls-port 6380\n" in conf and "port 0\n" in conf
    assert engine.node_running(master)


def test_observe_reads_readiness_then_asks_redis(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    master, replica, third = sentinel_shard(engine, tmp_path)
    engine.stop_node(third)

    def watched(host: Node) -> WatchedHost:
        return WatchedHost(
            host.name, host.address, host.directory, CREDENTIALS, sentinel_master="orders", placement=host.placement
        )

    facts = engine.observe([watched(h) for h in (master, replica, third)])

    assert facts[master.name].redis.role == Role.MASTER
    assert facts[replica.name].redis.role == Role.REPLICA
    assert facts[third.name].redis.process == ProcessState.GONE
    seen = facts[third.name].sentinel
    assert seen is not None and seen.master_address == master.address


def test_a_stopped_redis_does_not_answer(kube: FakeKube, tmp_path: Path) -> None:
    engine = make_engine(kube)
    master = node(tmp_path, "10.96.208.1")
    engine.ensure_node(master)
    engine.stop_node(master, save=False)
    with pytest.raises(redis.ConnectionError):
        engine.admin(master).ping()
    assert "dump.rdb" not in kube.files(NS, f"{names.statefulset(CLUSTER, 'shard1')}-0")  # NOSAVE
