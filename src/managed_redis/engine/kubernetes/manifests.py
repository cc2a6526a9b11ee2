"""Every Kubernetes object of a cluster, rendered as the plain dict the API takes.

Pure functions of ``ShardShape`` (what one shard's pods are: image, preset, disk, zones, mode)
and ``KubernetesOptions``; nothing here talks to an API server. ``cluster_objects`` renders
all of a cluster's objects at once (the tests validate each against the Kubernetes OpenAPI
schemas); the engine applies them one by one as hosts come.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from managed_redis.engine.addresses import CLUSTER_BUS_OFFSET, REDIS_PORT, REDIS_TLS_PORT, SENTINEL_PORT
from managed_redis.engine.conf import SENTINEL_TLS_PORT
from managed_redis.engine.kubernetes import names, pod_files
from managed_redis.engine.kubernetes.options import KubernetesOptions
from managed_redis.engine.model import Node

Manifest = dict[str, Any]
# What the Sentinel sidecar asks for: Sentinel holds a few connections and a small state.
SENTINEL_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}
# The uid and gid of the ``redis`` user in the official Redis and Valkey images.
REDIS_UID = 999
# Seconds a pod is given to stop: Redis saves its snapshot on SIGTERM.
GRACE_S = 120


@dataclass(frozen=True)
class ShardShape:
    """What one shard's pods are: every host of a shard runs the same image, preset and disk.

    ``zones``: the zones of the shard's hosts (``zone_id``), over which its pods spread;
    ``sentinel``: a Sentinel sidecar beside each Redis (non-sharded clusters); ``cluster_mode``:
    Redis Cluster (sharded clusters); ``tls``: the hosts serve TLS on 6380."""

    cluster_id: str
    shard_name: str
    image: str
    cores: int
    memory_bytes: int
    disk_bytes: int
    zones: tuple[str, ...] = ()
    sentinel: bool = True
    cluster_mode: bool = False
    tls: bool = False

    @property
    def statefulset(self) -> str:
        return names.statefulset(self.cluster_id, self.shard_name)

    @property
    def labels(self) -> dict[str, str]:
        return names.labels(self.cluster_id, self.statefulset)


def shard_shape(node: Node, options: KubernetesOptions, zones: Sequence[str] = (), sentinel: bool = True) -> ShardShape:
    """The shape of ``node``'s shard, from its ``placement``. Raises ValueError if the node has
    no placement (an engine input built without one)."""
    placement = node.placement
    if placement is None:
        raise ValueError(f"host {node.name} has no placement; the Kubernetes engine cannot place it")
    return ShardShape(
        cluster_id=placement.cluster_id,
        shard_name=placement.shard_name,
        image=options.image_for(placement.flavor, placement.version),
        cores=placement.cores,
        memory_bytes=placement.memory_bytes,
        disk_bytes=placement.disk_bytes,
        zones=tuple(sorted(set(zones) | ({placement.zone_id} if placement.zone_id else set()))),
        sentinel=sentinel and not node.cluster_mode,
        cluster_mode=node.cluster_mode,
        tls=node.tls is not None,
    )


def _meta(name: str, namespace: str | None, labels: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


# -- per cluster -----------------------------------------------------------------------------------


def namespace(cluster_id: str) -> Manifest:
    """The namespace of one cluster (only when no namespace is configured)."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(names.namespace(cluster_id, None), None, names.labels(cluster_id)),
    }


def password_secret(cluster_id: str, ns: str, password: str) -> Manifest:
    """The customer's password, for applications in the cluster to mount (key ``password``)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(names.password_secret(cluster_id), ns, names.labels(cluster_id)),
        "type": "Opaque",
        "data": {"password": _b64(password.encode())},
    }


def cluster_service(cluster_id: str, ns: str, sharded: bool, tls: bool) -> Manifest:
    """The cluster's own Service for clients: Sentinel (non-sharded) or any node as a Redis
    Cluster seed (sharded), on every pod of the cluster."""
    port = REDIS_TLS_PORT if tls else REDIS_PORT
    ports = [_port("redis", port)]
    if not sharded:
        ports.append(_port("sentinel", SENTINEL_PORT))
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(names.cluster_service(cluster_id), ns, names.labels(cluster_id)),
        "spec": {"type": "ClusterIP", "selector": names.labels(cluster_id), "ports": ports},
    }


# -- per shard -------------------------------------------------------------------------------------


def _port(name: str, port: int) -> dict[str, Any]:
    return {"name": name, "port": port, "targetPort": port, "protocol": "TCP"}


def _redis_ports(shape: ShardShape) -> list[tuple[str, int]]:
    port = REDIS_TLS_PORT if shape.tls else REDIS_PORT
    ports = [("redis", port)]
    if shape.cluster_mode:
        ports.append(("bus", port + CLUSTER_BUS_OFFSET))
    return ports


def _sentinel_ports(shape: ShardShape) -> list[tuple[str, int]]:
    if not shape.sentinel:
        return []
    ports = [("sentinel", SENTINEL_PORT)]
    if shape.tls:
        ports.append(("sentinel-tls", SENTINEL_TLS_PORT))
    return ports


def shard_service(shape: ShardShape, ns: str) -> Manifest:
    """The headless Service that governs the shard's StatefulSet (stable pod DNS names)."""
    ports = [_port(name, port) for name, port in _redis_ports(shape) + _sentinel_ports(shape)]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(shape.statefulset, ns, shape.labels),
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": shape.labels, "ports": ports},
    }


def disruption_budget(shape: ShardShape, ns: str) -> Manifest:
    """At most one pod of a shard voluntarily evicted at a time (a drain moves one host, the
    supervisor heals it, then the next). Pods whose Redis is stopped may always go."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(shape.statefulset, ns, shape.labels),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": shape.labels},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def tls_secret(shape: ShardShape, ns: str, files: Mapping[str, bytes]) -> Manifest:
    """The shard's certificates: ``<ordinal>.crt``/``<ordinal>.key`` per host and ``ca.crt``."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(names.tls_secret(shape.statefulset), ns, shape.labels),
        "type": "Opaque",
        "data": {key: _b64(value) for key, value in sorted(files.items())},
    }


def _quantity_bytes(count: int) -> str:
    """Bytes as a Kubernetes quantity: ``Gi``/``Mi`` when exact, else plain bytes."""
    for suffix, unit in (("Gi", 2**30), ("Mi", 2**20)):
        if count and count % unit == 0:
            return f"{count // unit}{suffix}"
    return str(count)


def _resources(shape: ShardShape) -> dict[str, Any]:
    memory = _quantity_bytes(shape.memory_bytes)
    requests: dict[str, str] = {"memory": memory}
    if shape.cores:
        requests["cpu"] = str(shape.cores)
    return {"requests": requests, "limits": {"memory": memory}}


def _container(shape: ShardShape, name: str, ports: list[tuple[str, int]], resources: dict[str, Any]) -> Manifest:
    mounts: list[dict[str, Any]] = [{"name": names.DATA_VOLUME, "mountPath": str(pod_files.DATA_DIR)}]
    if shape.tls:
        mounts.append({"name": "tls", "mountPath": str(pod_files.TLS_DIR), "readOnly": True})
    return {
        "name": name,
        "image": shape.image,
        "command": pod_files.container_command(name),
        "env": [{"name": "MREDIS_DATA", "value": str(pod_files.DATA_DIR)}],
        "ports": [{"name": port_name, "containerPort": port, "protocol": "TCP"} for port_name, port in ports],
        "readinessProbe": {
            "exec": {"command": pod_files.readiness_command(name)},
            "periodSeconds": 2,
            "failureThreshold": 1,
        },
        "resources": resources,
        "volumeMounts": mounts,
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }


def _affinity(shape: ShardShape) -> dict[str, Any]:
    """Pods of a shard on different machines if they can be, and in the zones of its hosts."""
    affinity: dict[str, Any] = {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "labelSelector": {"matchLabels": shape.labels},
                        "topologyKey": "kubernetes.io/hostname",
                    },
                }
            ]
        }
    }
    if shape.zones:
        # Preferred, not required: zone ids of the API (``ru-central1-a``) need not exist as node
        # labels; where they do, the pods go there.
        affinity["nodeAffinity"] = {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 50,
                    "preference": {
                        "matchExpressions": [{"key": names.ZONE_LABEL, "operator": "In", "values": list(shape.zones)}]
                    },
                }
            ]
        }
    return affinity


def statefulset(shape: ShardShape, ns: str, options: KubernetesOptions, replicas: int) -> Manifest:
    """The shard's StatefulSet: ``replicas`` pods, each a Redis (and a Sentinel sidecar), its
    data on a claim of the disk size. Pods are replaced only when the engine deletes them
    (``OnDelete``): a new template never restarts a master behind the engine's back."""
    containers = [_container(shape, pod_files.REDIS, _redis_ports(shape), _resources(shape))]
    if shape.sentinel:
        containers.append(_container(shape, pod_files.SENTINEL, _sentinel_ports(shape), SENTINEL_RESOURCES))
    volumes: list[dict[str, Any]] = []
    if shape.tls:
        secret = {"secretName": names.tls_secret(shape.statefulset), "defaultMode": 0o440}
        volumes.append({"name": "tls", "secret": secret})
    claim_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": _quantity_bytes(shape.disk_bytes)}},
    }
    if options.storage_class:
        claim_spec["storageClassName"] = options.storage_class
    pod_spec: dict[str, Any] = {
        "containers": containers,
        "volumes": volumes,
        "affinity": _affinity(shape),
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": names.ZONE_LABEL,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": shape.labels},
            }
        ],
        "securityContext": {
            "runAsUser": REDIS_UID,
            "runAsGroup": REDIS_UID,
            "runAsNonRoot": True,
            "fsGroup": REDIS_UID,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": GRACE_S,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(shape.statefulset, ns, shape.labels),
        "spec": {
            "serviceName": shape.statefulset,
            "replicas": replicas,
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "OnDelete"},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"},
            "selector": {"matchLabels": shape.labels},
            "template": {"metadata": {"labels": shape.labels}, "spec": pod_spec},
            "volumeClaimTemplates": [
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": names.DATA_VOLUME},
                    "spec": claim_spec,
                }
            ],
        },
    }


# -- per host --------------------------------------------------------------------------------------


def host_service(shape: ShardShape, ns: str, host_name: str, address: str, ordinal: int) -> Manifest:
    """The Service of one host: its ClusterIP is the host's address (its name in the API), and
    it reaches the host's pod whether or not Redis there is ready (its Sentinel must be
    reachable while Redis is down)."""
    ports = [_port(name, port) for name, port in _redis_ports(shape) + _sentinel_ports(shape)]
    labels = {**shape.labels, names.LABEL_HOST: names.host_service(host_name)}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(
            names.host_service(host_name),
            ns,
            labels,
            annotations={names.ANNOTATION_ORDINAL: str(ordinal), names.ANNOTATION_HOST: host_name},
        ),
        "spec": {
            "type": "ClusterIP",
            "clusterIP": address,
            "publishNotReadyAddresses": True,
            "selector": {names.POD_NAME_LABEL: names.pod(shape.statefulset, ordinal)},
            "ports": ports,
        },
    }


# -- all at once -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostPlace:
    """One host as the whole-cluster rendering takes it: its name, address and pod ordinal."""

    name: str
    address: str
    ordinal: int


def cluster_objects(
    options: KubernetesOptions,
    shards: Sequence[tuple[ShardShape, Sequence[HostPlace]]],
    password: str,
    tls_files: Mapping[str, Mapping[str, bytes]] | None = None,
) -> list[Manifest]:
    """Every object of one cluster: its namespace (unless one is configured), password Secret
    and Service, then per shard its headless Service, PodDisruptionBudget, TLS Secret (with
    ``tls_files[shard name]``), StatefulSet (one pod per host) and one Service per host.
    Raises ValueError if ``shards`` is empty."""
    if not shards:
        raise ValueError("a cluster has at least one shard")
    first = shards[0][0]
    ns = names.namespace(first.cluster_id, options.namespace)
    objects: list[Manifest] = [] if options.namespace else [namespace(first.cluster_id)]
    objects.append(password_secret(first.cluster_id, ns, password))
    objects.append(cluster_service(first.cluster_id, ns, first.cluster_mode, first.tls))
    for shape, hosts in shards:
        objects += [shard_service(shape, ns), disruption_budget(shape, ns)]
        if shape.tls:
            objects.append(tls_secret(shape, ns, (tls_files or {}).get(shape.shard_name, {})))
        replicas = max((host.ordinal for host in hosts), default=-1) + 1
        objects.append(statefulset(shape, ns, options, replicas))
        objects += [host_service(shape, ns, host.name, host.address, host.ordinal) for host in hosts]
    return objects


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
