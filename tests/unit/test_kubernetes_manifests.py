"""Every object the Kubernetes engine renders, and every manifest of deploy/kubernetes/, is valid
against the OpenAPI schemas of Kubernetes 1.37 (``kubernetes-validate``, strict: an unknown
field fails; its schemas ship inside the package, so this runs offline). Also the pod's
config files: conf.py's rendering with the pod's network and paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from managed_redis.catalog.presets import GIB
from managed_redis.engine.kubernetes import manifests, names, pod_files
from managed_redis.engine.kubernetes.manifests import HostPlace, ShardShape
from managed_redis.engine.kubernetes.options import KubernetesOptions
from managed_redis.engine.model import Credentials, Node, Placement, Sentinel, TlsFiles
from tests.support.fake_kube import K8S_VERSION, validate

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
CLUSTER = "c9qmanifest000000001"


def shape(shard: str, cluster_mode: bool = False, tls: bool = False) -> ShardShape:
    return ShardShape(
        cluster_id=CLUSTER,
        shard_name=shard,
        image="docker.io/library/redis:7.0.15",
        cores=2,
        memory_bytes=8 * GIB,
        disk_bytes=32 * GIB,
        zones=("ru-central1-a", "ru-central1-b", "ru-central1-d"),
        sentinel=not cluster_mode,
        cluster_mode=cluster_mode,
        tls=tls,
    )


def sentinel_cluster(options: KubernetesOptions, tls: bool) -> list[manifests.Manifest]:
    hosts = [HostPlace(f"10.100.0.{i}", f"10.100.0.{i}", i - 1) for i in (1, 2, 3)]
    files = {"shard1": {"0.crt": b"c", "0.key": b"k", "ca.crt": b"a"}} if tls else None
    return manifests.cluster_objects(options, [(shape("shard1", tls=tls), hosts)], "secret", files)


def sharded_cluster(options: KubernetesOptions) -> list[manifests.Manifest]:
    shards = []
    for index in range(3):
        hosts = [HostPlace(f"10.100.1.{index}{n}", f"10.100.1.{index}{n}", n) for n in range(2)]
        shards.append((shape(f"shard{index + 1}", cluster_mode=True), hosts))
    return manifests.cluster_objects(options, shards, "secret")


CASES = {
    "sentinel": sentinel_cluster(KubernetesOptions(), tls=False),
    "sentinel-tls": sentinel_cluster(KubernetesOptions(storage_class="fast-ssd"), tls=True),
    "sharded-one-namespace": sharded_cluster(KubernetesOptions(namespace="redis", storage_class="fast-ssd")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_rendered_object_validates(case: str) -> None:
    objects = CASES[case]
    for obj in objects:
        validate(obj)  # raises ValidationError / SchemaNotFoundError
    kinds = sorted({obj["kind"] for obj in objects})
    expected = {"Secret", "Service", "StatefulSet", "PodDisruptionBudget"}
    assert expected <= set(kinds)
    assert ("Namespace" in kinds) == (case != "sharded-one-namespace")


def test_validation_catches_a_bad_object() -> None:
    """The check can fail: an unknown field and a wrong type are both refused."""
    statefulset = next(obj for obj in CASES["sentinel"] if obj["kind"] == "StatefulSet")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate({**statefulset, "spec": {**statefulset["spec"], "replica": 3}})
    with pytest.raises(kubernetes_validate.ValidationError):
        validate({**statefulset, "spec": {**statefulset["spec"], "replicas": "three"}})


def test_a_shard_renders_what_the_issue_asks() -> None:
    objects = CASES["sentinel-tls"]
    statefulset = next(obj for obj in objects if obj["kind"] == "StatefulSet")
    spec = statefulset["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 3 and spec["updateStrategy"] == {"type": "OnDelete"}
    assert [c["name"] for c in pod["containers"]] == ["redis", "sentinel"]
    redis = pod["containers"][0]
    assert redis["resources"] == {"requests": {"memory": "8Gi", "cpu": "2"}, "limits": {"memory": "8Gi"}}
    assert spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "32Gi"
    assert spec["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast-ssd"
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert pod["volumes"] == [
        {"name": "tls", "secret": {"secretName": f"{statefulset['metadata']['name']}-tls", "defaultMode": 0o440}}
    ]
    services = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "Service"}
    host = services[names.host_service("10.100.0.2")]
    assert host["spec"]["clusterIP"] == "10.100.0.2"
    assert host["spec"]["selector"] == {names.POD_NAME_LABEL: f"{statefulset['metadata']['name']}-1"}
    assert [p["port"] for p in host["spec"]["ports"]] == [6380, 26379, 26380]
    assert any(obj["kind"] == "Secret" and obj["metadata"]["name"].endswith("-password") for obj in objects)


def deploy_documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def test_deploy_manifests_validate() -> None:
    documents = deploy_documents()
    for name, doc in documents:
        try:
            validate(doc)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(f"{name}: {doc['kind']}: {exc.message}") from exc
    kinds = {doc["kind"] for _, doc in documents}
    assert {
        "Deployment",
        "Service",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
    } <= kinds


def test_the_control_planes_role_covers_every_kind_the_engine_touches() -> None:
    role = next(doc for _, doc in deploy_documents() if doc["kind"] == "ClusterRole")
    granted = {
        (group, resource) for rule in role["rules"] for group in rule["apiGroups"] for resource in rule["resources"]
    }
    needed = {
        ("", "namespaces"),
        ("", "services"),
        ("", "secrets"),
        ("", "pods"),
        ("", "pods/exec"),
        ("", "persistentvolumeclaims"),
        ("apps", "statefulsets"),
        ("policy", "poddisruptionbudgets"),
    }
    assert needed <= granted


CREDENTIALS = Credentials(password="p", admin_password="a")


def test_pod_config_is_conf_py_for_the_pod() -> None:
    node = Node(
        name="10.100.0.7",
        address="10.100.0.7",
        directory=Path("/var/lib/mredis/hosts/10.100.0.7"),
        binary="redis-server",
        credentials=CREDENTIALS,
        tls=TlsFiles(Path("/x/host.pem"), Path("/x/host.key"), Path("/x/ca.pem")),
        replica_of="10.100.0.6",
        cluster_mode=False,
        placement=Placement(CLUSTER, "shard1"),
    )
    text = pod_files.redis_conf(node, 4)
    lines = text.splitlines()
    assert "bind 0.0.0.0" in lines and "daemonize no" in lines and 'logfile ""' in lines
    assert not any(line.startswith("bind-source-addr") for line in lines)
    assert "replica-announce-ip 10.100.0.7" in lines and "replicaof 10.100.0.6 6380" in lines
    assert 'tls-cert-file "/tls/4.crt"' in lines and 'tls-ca-cert-file "/tls/ca.crt"' in lines
    assert 'dir "/data"' in lines and 'aclfile "/data/users.acl"' in lines
    assert "/var/lib/mredis" not in text
    sentinel = Sentinel(
        name=node.name,
        address=node.address,
        directory=node.directory,
        binary="redis-server",
        credentials=CREDENTIALS,
        master_name="orders",
        master_address="10.100.0.6",
        quorum=2,
        down_after_ms=5000,
        sentinel_ids={"10.100.0.6": "a" * 40, "10.100.0.7": "b" * 40},
    )
    sentinel_lines = pod_files.sentinel_conf(sentinel, 4).splitlines()
    assert "bind 0.0.0.0" in sentinel_lines and "sentinel announce-ip 10.100.0.7" in sentinel_lines
    assert "sentinel monitor orders 10.100.0.6 6379 2" in sentinel_lines


def test_names_are_dns_labels() -> None:
    assert names.dns_label("shard1") == "shard1"
    odd = names.dns_label("My_Shard.1")
    assert odd.startswith("my-shard-1-") and len(odd) == len("my-shard-1-") + 6
    assert names.dns_label("My_Shard.1") != names.dns_label("my-shard-1")
    long = names.statefulset(CLUSTER, "s" * 80)
    assert len(long) <= names.STATEFULSET_MAX and long.startswith(CLUSTER)
    assert names.host_service("10.100.0.7") == "h-10-100-0-7"


def test_the_validator_is_the_current_release() -> None:
    assert kubernetes_validate.utils.latest_version().rsplit(".", 1)[0] == K8S_VERSION
