"""Names and labels of the Kubernetes objects of a cluster, derived from its ids alone.

Every name is a DNS-1123 label (lowercase letters, digits, ``-``; at most 63 characters), and
a StatefulSet's at most 40 so that its pods' names and revision labels stay within bounds.
Names start with the cluster id, so clusters can share one configured namespace.
"""

from __future__ import annotations

import hashlib
import re

PART_OF = "managed-redis"
LABEL_CLUSTER = "mredis.io/cluster"
LABEL_SHARD = "mredis.io/shard"
LABEL_HOST = "mredis.io/host"
ANNOTATION_ORDINAL = "mredis.io/ordinal"
ANNOTATION_HOST = "mredis.io/host-name"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
ZONE_LABEL = "topology.kubernetes.io/zone"
DATA_VOLUME = "data"
STATEFULSET_MAX = 40


def dns_label(text: str, limit: int = 63) -> str:
    """``text`` as a DNS-1123 label of at most ``limit`` characters: lowercased, anything else
    than letters and digits made ``-``; a name that had to change (or be cut) ends in 6 hex of
    its SHA-1, so two names never meet. Never raises."""
    clean = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"
    if clean == text and len(clean) <= limit:
        return clean
    digest = hashlib.sha1(text.encode()).hexdigest()[:6]
    return f"{clean[: limit - 7].rstrip('-')}-{digest}"


def namespace(cluster_id: str, configured: str | None) -> str:
    """The namespace of ``cluster_id``'s objects: the configured one, else ``mredis-<id>``."""
    return configured or dns_label(f"mredis-{cluster_id}")


def statefulset(cluster_id: str, shard_name: str) -> str:
    """The StatefulSet (and headless Service, PodDisruptionBudget) of one shard."""
    return dns_label(f"{cluster_id}-{shard_name}", STATEFULSET_MAX)


def pod(statefulset_name: str, ordinal: int) -> str:
    return f"{statefulset_name}-{ordinal}"


def claim(statefulset_name: str, ordinal: int) -> str:
    """The PersistentVolumeClaim the StatefulSet made for pod ``ordinal``."""
    return f"{DATA_VOLUME}-{statefulset_name}-{ordinal}"


def tls_secret(statefulset_name: str) -> str:
    return f"{statefulset_name}-tls"


def host_service(host_name: str) -> str:
    """The Service of one host, from its name (its address: ``10.96.200.5`` -> ``h-10-96-200-5``)."""
    return dns_label(f"h-{host_name.replace('.', '-')}")


def cluster_service(cluster_id: str) -> str:
    return dns_label(cluster_id)


def password_secret(cluster_id: str) -> str:
    return dns_label(f"{cluster_id}-password")


def labels(cluster_id: str, shard: str | None = None) -> dict[str, str]:
    """The labels every object of the cluster (and of one shard's StatefulSet) carries."""
    found = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/part-of": PART_OF, LABEL_CLUSTER: cluster_id}
    if shard is not None:
        found[LABEL_SHARD] = shard
    return found
