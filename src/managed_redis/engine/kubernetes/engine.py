"""``KubernetesEngine``: the ``Engine`` (``engine/base.py``) whose hosts are pods.

A host is placed (``_place``) by applying its cluster's and shard's objects, its own
Service (ClusterIP = the host's address) and, with TLS, its certificate, then scaling its
shard's StatefulSet to hold its ordinal. Its Redis starts when the engine writes the config
files into the pod's data volume and leaves a start token (``pod_files``); it stops by
``SHUTDOWN`` and stays down. Every Redis and Sentinel command is ``RedisSide``'s, over the
host's address, so the control plane runs where Service addresses are reachable (in the
cluster). Backups: the snapshot is copied out of the pod into the host's staging directory
on the control plane (``rdb_path``), from where the backup store takes it; a restore copies
the verified file back in before the first start.

What does not carry over from the local engine (each raises EngineError or says so):
``restart_from_snapshot`` (EnableSharding, version change) is refused; ``wait_for_exit``
only sleeps (pods are watched through the supervisor's looks); ``node_running`` asks the pod
(one exec) instead of a pidfd; ``observe`` reads the containers' readiness (a probe every 2 s)
as "the process runs"; ``fence`` kills Redis in its pod, or deletes the pod, and cannot
reach a machine cut off from the API server.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from managed_redis.engine import conf, rdb_header
from managed_redis.engine.connections import Connections
from managed_redis.engine.errors import EngineError
from managed_redis.engine.facts import HostFacts, ProcessState
from managed_redis.engine.kubernetes import manifests, names, pod_files
from managed_redis.engine.kubernetes.api import KubeApi, KubeError, Manifest
from managed_redis.engine.kubernetes.options import KubernetesOptions
from managed_redis.engine.local import SENTINEL_TIMERS_MS
from managed_redis.engine.model import Node, Sentinel, WatchedHost
from managed_redis.engine.probe import Prober
from managed_redis.engine.redis_side import RedisSide, StateOf, look

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0
OBSERVE_TIMEOUT_S = 1.0
POLL_S = 0.05
AOF_MANIFEST = "appendonlydir/appendonly.aof.manifest"


@dataclass(frozen=True)
class PodHost:
    """Where one host lives: its namespace, shard StatefulSet, ordinal and Service."""

    namespace: str
    statefulset: str
    ordinal: int
    service: str

    @property
    def pod(self) -> str:
        return names.pod(self.statefulset, self.ordinal)


class KubernetesEngine(RedisSide):
    """The ``Engine`` of pods, on a ``KubeApi`` (the official client's, or a fake)."""

    def __init__(self, api: KubeApi, options: KubernetesOptions, connections: Connections | None = None) -> None:
        self.api = api
        self.options = options
        self.connections = connections or Connections()
        self._probers = threading.local()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    # -- where hosts are -----------------------------------------------------------------------

    def _namespace(self, node: Node | Sentinel | WatchedHost) -> str:
        if node.placement is None:
            raise EngineError(f"host {node.name} has no placement; the Kubernetes engine cannot place it")
        return names.namespace(node.placement.cluster_id, self.options.namespace)

    def locate(self, host_name: str, namespace: str | None = None) -> PodHost | None:
        """Where the host ``host_name`` lives, from its Service (in ``namespace``, or looked for
        by label in every namespace); None if it has none. Raises KubeError."""
        service_name = names.host_service(host_name)
        if namespace is not None:
            service = self.api.get("Service", namespace, service_name)
        else:
            found = self.api.list("Service", self.options.namespace, {names.LABEL_HOST: service_name})
            service = found[0] if found else None
        return None if service is None else _pod_host(service)

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())

    def _place(self, node: Node) -> PodHost:
        """Apply what ``node`` needs and make its shard's StatefulSet hold its pod; return where
        it lives. Safe to run again: a host already placed keeps its ordinal.
        Raises KubeError; EngineError if the node has no placement or its address is taken."""
        ns = self._namespace(node)
        assert node.placement is not None
        cluster_id = node.placement.cluster_id
        if self.options.namespace is None:
            self.api.apply(manifests.namespace(cluster_id))
        self.api.apply(manifests.password_secret(cluster_id, ns, node.credentials.password))
        self.api.apply(manifests.cluster_service(cluster_id, ns, node.cluster_mode, node.tls is not None))
        shape = manifests.shard_shape(node, self.options)
        with self._lock(f"{ns}/{shape.statefulset}"):
            current = self.api.get("StatefulSet", ns, shape.statefulset)
            shape = dataclasses.replace(shape, zones=tuple(sorted(set(shape.zones) | set(_zones(current)))))
            replicas = int(current["spec"].get("replicas") or 0) if current else 0
            self._apply_shard(shape, ns, current)
            host = self.locate(node.name, ns) or self._claim(node, shape, ns, replicas)
            if node.tls is not None:
                self._put_certificates(node, shape, ns, host.ordinal)
            if replicas <= host.ordinal:
                self.api.patch("StatefulSet", ns, shape.statefulset, {"spec": {"replicas": host.ordinal + 1}})
        return host

    def _apply_shard(self, shape: manifests.ShardShape, ns: str, current: Manifest | None) -> None:
        self.api.apply(manifests.shard_service(shape, ns))
        self.api.apply(manifests.disruption_budget(shape, ns))
        statefulset = manifests.statefulset(shape, ns, self.options, replicas=0)
        if current is None:
            self.api.apply(statefulset)
        else:  # the template may have changed (preset, zones); the pod count is the hosts'
            self.api.patch(
                "StatefulSet", ns, shape.statefulset, {"spec": {"template": statefulset["spec"]["template"]}}
            )

    def _claim(self, node: Node, shape: manifests.ShardShape, ns: str, replicas: int) -> PodHost:
        """Give ``node`` the shard's next ordinal (never one a removed host left below the top:
        its pod may still hold that host's files) and its Service."""
        taken = [host.ordinal for host in self._shard_hosts(ns, shape.statefulset)]
        ordinal = max([replicas, *(n + 1 for n in taken)])
        try:
            service = self.api.apply(manifests.host_service(shape, ns, node.name, node.address, ordinal))
        except KubeError as exc:
            raise EngineError(
                f"host {node.name}: its address cannot be the ClusterIP of its Service ({exc}); on Kubernetes "
                "the host network (MREDIS_HOST_NETWORK) must be a range of the cluster's Service CIDR left to "
                "managed-redis"
            ) from exc
        return _pod_host(service) if service.get("metadata") else PodHost(ns, shape.statefulset, ordinal, "")

    def _shard_hosts(self, ns: str, statefulset: str) -> list[PodHost]:
        services = self.api.list("Service", ns, {names.LABEL_SHARD: statefulset})
        return [_pod_host(service) for service in services if names.LABEL_HOST in service["metadata"]["labels"]]

    def _put_certificates(self, node: Node, shape: manifests.ShardShape, ns: str, ordinal: int) -> None:
        assert node.tls is not None
        files = {
            pod_files.cert_key(ordinal): node.tls.cert_file.read_bytes(),
            pod_files.key_key(ordinal): node.tls.key_file.read_bytes(),
            pod_files.CA_FILE: node.tls.ca_file.read_bytes(),
        }
        self.api.apply(manifests.tls_secret(shape, ns, files))

    def _wait_pod(self, host: PodHost, container: str = pod_files.REDIS) -> None:
        """Return once the pod runs ``container`` (at most ``options.ready_timeout_s``: a new pod
        is scheduled, its volume bound and its image pulled). Raises EngineError saying what
        the pod waits for, KubeError."""
        deadline = time.monotonic() + self.options.ready_timeout_s
        while True:
            pod = self.api.get("Pod", host.namespace, host.pod)
            if pod is not None and _container_running(pod, container):
                return
            if time.monotonic() > deadline:
                raise EngineError(f"pod {host.namespace}/{host.pod} is not running: {_waiting_for(pod)}")
            time.sleep(POLL_S)

    def _pod_running(self, host: PodHost) -> bool:
        pod = self.api.get("Pod", host.namespace, host.pod)
        return pod is not None and _container_running(pod, pod_files.REDIS)

    # -- files in the pod ----------------------------------------------------------------------

    def _exec(self, host: PodHost, argv: Sequence[str], **kwargs: Any) -> bytes:
        result = self.api.exec(host.namespace, host.pod, pod_files.REDIS, argv, **kwargs)
        if not result.ok:
            raise EngineError(f"{argv[0]} in {host.namespace}/{host.pod} exited {result.returncode}: {result.stderr}")
        return result.stdout

    def _present(self, host: PodHost) -> set[str]:
        """Which of the pod's files are there (``pod_files.state``)."""
        return set(self._exec(host, pod_files.state()).decode().split())

    def _write(self, host: PodHost, name: str, text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        self._exec(host, pod_files.write_file(pod_files.DATA_DIR / name, len(data)), stdin=io.BytesIO(data))

    def _write_node_files(self, host: PodHost, node: Node) -> None:
        self._write(host, "redis.conf", pod_files.redis_conf(node, host.ordinal))
        self._write(host, "users.acl", pod_files.users_acl(node))

    # -- Redis hosts ---------------------------------------------------------------------------

    def log_hint(self, node: Node) -> str:
        return f"the log of its pod's redis container (host {node.name})"

    def ensure_node(self, node: Node, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Place ``node`` (``_place``), then start its Redis unless it runs; return once it
        answers PING, with its AOF on if it keeps one. As the local engine: a node meant to
        keep an AOF that has none complete but has a snapshot starts from the snapshot with
        its AOF off and turns it on once up.
        Raises EngineError if the pod does not run in time, Redis does not answer within
        ``timeout_s`` or refuses the control plane's credentials; KubeError;
        redis.RedisError if it refuses the ACL or AOF changes."""
        host = self._place(node)
        self._wait_pod(host)
        present = self._present(host)
        if "redis.running" in present:
            self.wait_ready(node, timeout_s)
            self.apply_users(node)
        else:
            from_rdb = node.appendonly and AOF_MANIFEST not in present and "dump.rdb" in present
            self._write_node_files(host, dataclasses.replace(node, appendonly=False) if from_rdb else node)
            self.connections.forget(node.address)
            self._exec(host, pod_files.send_start(pod_files.REDIS))
            self.wait_ready(node, timeout_s)
        if node.appendonly and self.admin(node).config_get("appendonly").get("appendonly") != "yes":
            self.config_set(node, [("appendonly", "yes")])

    def wait_ready(self, node: Node, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Return once ``node`` answers PING over its address (LOADING counts as not yet).
        Raises EngineError if it refuses the control plane's credentials or does not answer
        within ``timeout_s``."""
        self.answering(node, timeout_s, poll_s=POLL_S, watch_exit=False)

    def node_running(self, node: Node) -> bool:
        """Whether ``node``'s Redis runs in its pod (one API read and one exec). Never raises."""
        return self._running(node.name, self._namespace_or_none(node), "redis.running")

    def _namespace_or_none(self, node: Node | Sentinel) -> str | None:
        return None if node.placement is None else self._namespace(node)

    def _running(self, host_name: str, namespace: str | None, flag: str) -> bool:
        try:
            host = self.locate(host_name, namespace)
            return host is not None and self._pod_running(host) and flag in self._present(host)
        except EngineError:
            return False

    def stop_node(self, node: Node, save: bool = True, timeout_s: float = 120.0) -> None:
        """Shut Redis down (``SHUTDOWN SAVE`` when ``save``, else at once) and return once it is
        gone from its pod (at most ``timeout_s``, then it is killed). The pod stays, its Redis
        down until the next ``ensure_node``. Never raises for Redis's refusals."""
        try:
            host = self.locate(node.name, self._namespace_or_none(node))
            if host is None or not self._pod_running(host):
                return
            self._exec(host, pod_files.withdraw_start(pod_files.REDIS))
            if "redis.running" not in self._present(host):
                return
        except EngineError as exc:
            log.warning("cannot stop redis on %s through its pod: %s", node.name, exc)
            return
        self.shut_down(
            node,
            save,
            timeout_s,
            lambda wait_s: self._gone(host, "redis.running", wait_s),
            lambda: self._kill(host, pod_files.REDIS),
        )
        self.connections.forget(node.address)

    def _gone(self, host: PodHost, flag: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while flag in self._present(host):
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)
        return True

    def _kill(self, host: PodHost, name: str) -> None:
        self._exec(host, pod_files.kill(name, "KILL"))
        self._gone(host, f"{name}.running", 10.0)

    def fence(self, node: Node) -> None:
        """Make sure ``node`` acknowledges nothing more: its Redis killed in its pod, or, when
        the pod cannot be reached, the pod deleted at once (it comes back with Redis down).
        A machine cut off from the API server keeps running what it runs: that is beyond any
        API call. Raises EngineError if neither could be done."""
        try:
            host = self.locate(node.name, self._namespace_or_none(node))
        except EngineError as exc:
            raise EngineError(f"cannot fence {node.name}: {exc}") from exc
        if host is None:
            return
        try:
            self._exec(host, pod_files.withdraw_start(pod_files.REDIS))
            self._kill(host, pod_files.REDIS)
            log.warning("fenced redis on %s (killed in pod %s)", node.name, host.pod)
        except EngineError as exc:
            log.warning("cannot kill redis on %s in its pod (%s); deleting the pod", node.name, exc)
            self.api.delete("Pod", host.namespace, host.pod, grace_s=0)
        self.connections.forget(node.address)
        self._prober().forget(node.address)

    def clear_addresses(self, hosts: Sequence[WatchedHost]) -> None:
        """Release any host Service that holds one of ``hosts``' names for another cluster (left
        by a cluster deleted half-way), and remove the hosts' staging directories.
        Never raises for what it finds (a failure is logged)."""
        for watched in hosts:
            cluster_id = watched.placement.cluster_id if watched.placement else None
            try:
                found = self.api.list(
                    "Service", self.options.namespace, {names.LABEL_HOST: names.host_service(watched.name)}
                )
                for service in found:
                    if service["metadata"]["labels"].get(names.LABEL_CLUSTER) != cluster_id:
                        log.warning("releasing %s, left by another cluster", service["metadata"]["name"])
                        self._release(_pod_host(service))
            except EngineError as exc:
                log.warning("cannot clear the address of %s: %s", watched.name, exc)
            shutil.rmtree(watched.directory, ignore_errors=True)

    def remove_directory(self, directory: Path) -> None:
        """Remove a host: its Redis killed and its data wiped in its pod, its Service and
        certificate gone, its shard's StatefulSet shrunk (or deleted with its last host, and
        the cluster's own objects and namespace with its last shard); then its staging
        directory here. The directory's name is the host's. Never raises (logs a failure)."""
        try:
            host = self.locate(directory.name)
            if host is not None:
                self._release(host)
        except EngineError as exc:
            log.warning("cannot remove host %s from kubernetes: %s", directory.name, exc)
        shutil.rmtree(directory, ignore_errors=True)

    def _release(self, host: PodHost) -> None:
        ns, statefulset = host.namespace, host.statefulset
        try:
            if self._pod_running(host):
                for argv in (pod_files.withdraw_start(pod_files.REDIS), pod_files.kill(pod_files.REDIS, "KILL")):
                    self._exec(host, argv)
                self._exec(host, pod_files.wipe())
        except EngineError as exc:
            log.warning("cannot wipe %s/%s: %s", ns, host.pod, exc)
        with self._lock(f"{ns}/{statefulset}"):
            current = self.api.get("StatefulSet", ns, statefulset)
            cluster_id = (current or {}).get("metadata", {}).get("labels", {}).get(names.LABEL_CLUSTER)
            self.api.delete("Service", ns, host.service)
            remaining = [other.ordinal for other in self._shard_hosts(ns, statefulset) if other.service != host.service]
            if remaining:
                if self.api.get("Secret", ns, names.tls_secret(statefulset)) is not None:
                    self.api.patch("Secret", ns, names.tls_secret(statefulset), _unset_certificate(host.ordinal))
                replicas = max(remaining) + 1
                if current is not None and int(current["spec"].get("replicas") or 0) != replicas:
                    self.api.patch("StatefulSet", ns, statefulset, {"spec": {"replicas": replicas}})
                return
            self._delete_shard(ns, statefulset, int((current or {}).get("spec", {}).get("replicas") or 0))
        if cluster_id and not self.api.list("StatefulSet", ns, {names.LABEL_CLUSTER: cluster_id}):
            self._delete_cluster(ns, cluster_id)

    def _delete_shard(self, ns: str, statefulset: str, replicas: int) -> None:
        self.api.delete("StatefulSet", ns, statefulset)
        for kind in ("Service", "PodDisruptionBudget"):
            self.api.delete(kind, ns, statefulset)
        self.api.delete("Secret", ns, names.tls_secret(statefulset))
        for ordinal in range(replicas):  # also deleted with the StatefulSet (its retention policy)
            self.api.delete("PersistentVolumeClaim", ns, names.claim(statefulset, ordinal))

    def _delete_cluster(self, ns: str, cluster_id: str) -> None:
        if self.options.namespace is None:
            self.api.delete("Namespace", None, ns)
            return
        self.api.delete("Service", ns, names.cluster_service(cluster_id))
        self.api.delete("Secret", ns, names.password_secret(cluster_id))

    def write_node_files(self, node: Node) -> None:
        """Write ``node``'s ``redis.conf`` and ``users.acl`` into its pod's data volume; nothing
        when the pod is not running (every start writes them anew). Raises EngineError if a
        running pod refuses them."""
        host = self.locate(node.name, self._namespace_or_none(node))
        if host is not None and self._pod_running(host):
            self._write_node_files(host, node)

    def restore_files(self, node: Node) -> None:
        """Give a running Redis whose data volume lost its files its AOF or ``nodes.conf``, its
        config and users back, from its memory. Raises EngineError if it is not running or
        refuses."""
        if not self.node_running(node):
            raise EngineError(f"redis on {node.name} is not running; nothing to restore files for")
        self.rewrite_files(node, str(pod_files.DATA_DIR))
        self.write_node_files(node)

    # -- snapshots -----------------------------------------------------------------------------

    def rdb_path(self, node: Node) -> Path:
        """The host's snapshot as staged on the control plane (``<directory>/dump.rdb``): where
        ``bgsave`` copies it out of the pod and where a restore leaves it for ``load_snapshot``.
        Never raises (no I/O)."""
        return node.directory / "dump.rdb"

    def aof_manifest(self, node: Node) -> Path:
        """The AOF manifest's path inside the pod (not a file of this machine). Never raises."""
        return Path(str(pod_files.DATA_DIR / AOF_MANIFEST))

    def bgsave(self, node: Node, timeout_s: float = 3600.0) -> Path:
        """Have ``node`` write a fresh snapshot, copy it out of its pod into ``rdb_path`` and
        return that path. Raises EngineError if the save fails, does not finish in
        ``timeout_s`` or cannot be copied; redis.RedisError if ``node`` cannot be asked."""
        self.wait_bgsave(node, timeout_s)
        host = self._located(node)
        target = self.rdb_path(node)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = target.with_name(target.name + ".part")
        with partial.open("wb") as out:
            self._exec(host, pod_files.read_file(pod_files.DATA_DIR / "dump.rdb"), stdout=out, timeout_s=timeout_s)
        os.replace(partial, target)
        return target

    def _located(self, node: Node) -> PodHost:
        host = self.locate(node.name, self._namespace_or_none(node))
        if host is None:
            raise EngineError(f"host {node.name} has no pod")
        return host

    def shares_snapshot(self, node: Node) -> bool:
        """Whether the staged snapshot records its replication position. Never raises."""
        return rdb_header.records_replication_position(self.rdb_path(node))

    def share_snapshot(self, source: Node, target: Node) -> None:
        """Stage ``source``'s snapshot for ``target`` too (copied into its pod by
        ``load_snapshot``). Raises OSError if ``source`` has none staged."""
        self.rdb_path(target).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(self.rdb_path(source), self.rdb_path(target))

    def load_snapshot(self, node: Node, timeout_s: float = 3600.0) -> None:
        """Start ``node`` (not running) from its staged snapshot: placed, the file copied into
        its pod, whatever AOF is there removed, then started as ``ensure_node`` does.
        Raises EngineError if ``node`` already runs or the copy fails; OSError if nothing is
        staged; as ``ensure_node`` otherwise."""
        if self.node_running(node):
            raise EngineError(f"redis on {node.name} already runs; it cannot load a snapshot")
        staged = self.rdb_path(node)
        host = self._place(node)
        self._wait_pod(host)
        self._exec(host, pod_files.remove_aof())
        with staged.open("rb") as data:
            size = os.fstat(data.fileno()).st_size
            self._exec(
                host, pod_files.write_file(pod_files.DATA_DIR / "dump.rdb", size), stdin=data, timeout_s=timeout_s
            )
        self.ensure_node(node, timeout_s)

    def restart_from_snapshot(
        self, before: Node, after: Node, keep_data: bool = True, timeout_s: float = 3600.0
    ) -> None:
        """Not on Kubernetes: a change of mode or version (EnableSharding, an upgrade) would be
        a new image or template for pods the engine restarts one by one; not built yet.
        Raises EngineError always, before touching anything."""
        raise EngineError(
            f"restarting {before.name} into another mode or version is not supported by the kubernetes engine; "
            "create a new cluster from a backup instead"
        )

    # -- configuration -------------------------------------------------------------------------

    def config_set(self, node: Node, pairs: Sequence[tuple[str, str]]) -> None:
        """Apply directives live, then rewrite the pod's ``redis.conf``.
        Raises redis.RedisError if Redis refuses; EngineError if the file cannot be written."""
        if pairs:
            self.admin(node).execute_command("CONFIG", "SET", *[part for pair in pairs for part in pair])
        self.write_node_files(node)

    def set_default_password(self, node: Node, password: str) -> None:
        """The customer's password, live on ``node`` and in the cluster's password Secret.
        Raises redis.RedisError if ``node`` refuses; KubeError if the Secret cannot be written."""
        super().set_default_password(node, password)
        if node.placement is not None:
            self.api.apply(manifests.password_secret(node.placement.cluster_id, self._namespace(node), password))

    def apply_users(self, node: Node) -> dict[str, str] | None:
        """``users.acl`` rewritten in the pod, then, if Redis runs, the declared users live
        (``RedisSide.apply_users_live``). None if it does not run.
        Raises redis.RedisError if it refuses; EngineError if the pod refuses the file."""
        host = self.locate(node.name, self._namespace_or_none(node))
        if host is None or not self._pod_running(host):
            return None
        self._write(host, "users.acl", pod_files.users_acl(node))
        if "redis.running" not in self._present(host):
            return None
        return self.apply_users_live(node)

    # -- Sentinels -----------------------------------------------------------------------------

    def _sentinel_host(self, sentinel: Sentinel) -> PodHost:
        host = self.locate(sentinel.name, self._namespace_or_none(sentinel))
        if host is None:
            raise EngineError(f"host {sentinel.name} has no pod yet; its Redis is placed before its Sentinel")
        return host

    def ensure_sentinel(self, sentinel: Sentinel, fresh_config: bool = False) -> None:
        """Start the Sentinel sidecar of ``sentinel``'s pod unless it runs, from its own
        rewritten config unless ``fresh_config`` (or it has none); return once it answers
        (at most ~60 s). Raises EngineError if it does not."""
        host = self._sentinel_host(sentinel)
        self._wait_pod(host, pod_files.SENTINEL)
        present = self._present(host)
        if "sentinel.running" not in present:
            if fresh_config or "sentinel.conf" not in present:
                self._write(host, "sentinel.conf", pod_files.sentinel_conf(sentinel, host.ordinal))
            self.connections.forget(sentinel.address)
            self._exec(host, pod_files.send_start(pod_files.SENTINEL))
        deadline = time.monotonic() + READY_TIMEOUT_S
        timers = [str(part) for pair in SENTINEL_TIMERS_MS.items() for part in pair]
        while True:
            try:
                self.sentinel_admin(sentinel).execute_command("SENTINEL", "DEBUG", *timers)
                return
            except redis.RedisError as exc:
                if time.monotonic() > deadline:
                    raise EngineError(f"sentinel on {sentinel.name} did not answer: {exc}") from exc
                time.sleep(POLL_S)

    def sentinel_running(self, sentinel: Sentinel) -> bool:
        """Whether the Sentinel runs in its pod (one API read, one exec). Never raises."""
        return self._running(sentinel.name, self._namespace_or_none(sentinel), "sentinel.running")

    def set_sentinel_auth(self, sentinel: Sentinel) -> None:
        """As the local engine: live if it runs, else in the config it starts from.
        Raises redis.RedisError if a running Sentinel refuses; EngineError if its config cannot
        be rewritten."""
        if self.sentinel_running(sentinel):
            client = self.sentinel_admin(sentinel)
            client.execute_command("ACL", "SETUSER", "default", *conf.sentinel_default_user_rules(sentinel))
            client.execute_command("SENTINEL", "FLUSHCONFIG")
            return
        host = self._sentinel_host(sentinel)
        if not self._pod_running(host) or "sentinel.conf" not in self._present(host):
            return  # written whole, with today's rule, when it starts
        text = self._exec(host, pod_files.read_file(pod_files.DATA_DIR / "sentinel.conf")).decode()
        self._write(host, "sentinel.conf", conf.with_sentinel_default_user(text, sentinel))

    def stop_sentinel(self, sentinel: Sentinel) -> None:
        """Stop the Sentinel sidecar's process (SIGTERM, SIGKILL after 10 s); the container
        stays, waiting. Never raises."""
        try:
            host = self.locate(sentinel.name, self._namespace_or_none(sentinel))
            if host is not None and self._pod_running(host):
                self._exec(host, pod_files.withdraw_start(pod_files.SENTINEL))
                self._exec(host, pod_files.kill(pod_files.SENTINEL, "TERM"))
                if not self._gone(host, "sentinel.running", 10.0):
                    self._kill(host, pod_files.SENTINEL)
        except EngineError as exc:
            log.warning("cannot stop the sentinel on %s: %s", sentinel.name, exc)
        self.connections.forget(sentinel.address)

    # -- observation ---------------------------------------------------------------------------

    def observe(
        self, hosts: Sequence[WatchedHost], timeout_s: float = OBSERVE_TIMEOUT_S, keep_connections: bool = False
    ) -> dict[str, HostFacts]:
        """One look at every host: whether its Redis and Sentinel run (their containers'
        readiness, read with one list of pods and one of Services per namespace), then what
        each running one says (``redis_side.look``). A namespace the API will not list
        counts its hosts' processes as gone. Takes the API's time plus at most ``timeout_s``."""
        redis_alive: dict[str, StateOf | None] = {}
        sentinel_alive: dict[str, StateOf | None] = {}
        by_namespace: dict[str, list[WatchedHost]] = {}
        for watched in hosts:
            if watched.placement is not None:
                by_namespace.setdefault(self._namespace(watched), []).append(watched)
        for ns, group in by_namespace.items():
            try:
                ready = self._readiness(ns, {h.placement.cluster_id for h in group if h.placement})
            except EngineError as exc:
                log.warning("cannot read the pods of %s: %s", ns, exc)
                ready = {}
            for watched in group:
                containers = ready.get(names.host_service(watched.name), {})
                redis_alive[watched.name] = _running_state if containers.get(pod_files.REDIS) else None
                sentinel_alive[watched.name] = _running_state if containers.get(pod_files.SENTINEL) else None
        prober = self._prober() if keep_connections else Prober()
        try:
            return look(prober, hosts, redis_alive, sentinel_alive, timeout_s, _present, _present)
        finally:
            if not keep_connections:
                prober.close()

    def _readiness(self, ns: str, cluster_ids: set[str]) -> dict[str, dict[str, bool]]:
        """Host Service name -> container name -> ready, for the clusters' hosts in ``ns``."""
        pods: dict[str, Manifest] = {}
        services: list[Manifest] = []
        for cluster_id in sorted(cluster_ids):
            selector = {names.LABEL_CLUSTER: cluster_id}
            pods.update({pod["metadata"]["name"]: pod for pod in self.api.list("Pod", ns, selector)})
            services += self.api.list("Service", ns, selector)
        found = {}
        for service in services:
            if names.LABEL_HOST not in service["metadata"]["labels"]:
                continue
            host = _pod_host(service)
            pod = pods.get(host.pod)
            statuses = (pod or {}).get("status", {}).get("containerStatuses") or []
            found[host.service] = {status["name"]: bool(status.get("ready")) for status in statuses}
        return found

    def wait_for_exit(self, timeout_s: float) -> list[str]:
        """Sleep ``timeout_s``: no process of this machine to watch; the supervisor's looks
        find what stopped. Never raises."""
        time.sleep(max(timeout_s, 0))
        return []

    def _prober(self) -> Prober:
        prober: Prober | None = getattr(self._probers, "prober", None)
        if prober is None:
            prober = self._probers.prober = Prober()
        return prober


def _running_state() -> ProcessState:
    return ProcessState.RUNNING


def _present(_: WatchedHost) -> bool:
    return True  # the files are on the pod's volume, rewritten at every start


def _pod_host(service: Manifest) -> PodHost:
    meta = service["metadata"]
    return PodHost(
        namespace=meta["namespace"],
        statefulset=meta["labels"][names.LABEL_SHARD],
        ordinal=int(meta["annotations"][names.ANNOTATION_ORDINAL]),
        service=meta["name"],
    )


def _zones(statefulset: Manifest | None) -> list[str]:
    """The zones a StatefulSet's pods prefer (its hosts' zones so far)."""
    if statefulset is None:
        return []
    affinity = statefulset["spec"]["template"]["spec"].get("affinity", {}).get("nodeAffinity", {})
    zones: list[str] = []
    for term in affinity.get("preferredDuringSchedulingIgnoredDuringExecution", []):
        for expression in term.get("preference", {}).get("matchExpressions", []):
            if expression.get("key") == names.ZONE_LABEL:
                zones += expression.get("values", [])
    return zones


def _container_running(pod: Manifest, container: str) -> bool:
    if pod.get("metadata", {}).get("deletionTimestamp") or pod.get("status", {}).get("phase") != "Running":
        return False
    for status in pod["status"].get("containerStatuses") or []:
        if status["name"] == container:
            return "running" in (status.get("state") or {})
    return False


def _waiting_for(pod: Manifest | None) -> str:
    """Why a pod is not running yet, as its status says (unschedulable, pulling, ...)."""
    if pod is None:
        return "no pod yet"
    status = pod.get("status", {})
    reasons = [
        f"{s['name']}: {s['state']['waiting'].get('reason', 'waiting')}"
        for s in status.get("containerStatuses") or []
        if "waiting" in (s.get("state") or {})
    ]
    reasons += [
        f"{c['type']}: {c.get('reason') or c.get('message') or c['status']}"
        for c in status.get("conditions") or []
        if c.get("status") != "True"
    ]
    return ", ".join(reasons) or status.get("phase", "unknown")


def _unset_certificate(ordinal: int) -> Manifest:
    return {"data": {pod_files.cert_key(ordinal): None, pod_files.key_key(ordinal): None}}
