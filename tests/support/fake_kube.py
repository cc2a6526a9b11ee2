"""An in-memory Kubernetes API for the Kubernetes engine's unit tests (``KubeApi``).

It keeps objects by (kind, namespace, name), validates every object created against the
Kubernetes 1.37 OpenAPI schemas (``kubernetes-validate``, strict: an unknown field fails),
and plays the controllers and the kubelet the engine relies on:

- a StatefulSet has a Running pod and a claim (``data-<set>-<n>``) per ordinal below its
  replicas; fewer replicas delete the pods above (and their claims: ``whenScaled: Delete``);
  deleting it deletes its pods and claims; deleting a namespace deletes all in it;
- a claim is a dict of files (the pod's ``/data``);
- exec runs the commands of ``engine/kubernetes/pod_files.py`` against those files: a start
  token starts a ``FakeServer`` of ``FakeRedisNet`` at the address of the Service selecting
  the pod, configured from the ``redis.conf``/``sentinel.conf`` written there; a container's
  readiness is whether its process runs;
- a Service's ClusterIP is taken once across the cluster (422 for a second).
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import kubernetes_validate

from managed_redis.engine.kubernetes import names, pod_files
from managed_redis.engine.kubernetes.api import ExecResult, KubeError, Manifest
from tests.support.fake_redis_net import FakeRedisNet, FakeServer, keys_of_snapshot

K8S_VERSION = "1.37"
Key = tuple[str, str | None, str]


def validate(obj: Manifest) -> None:
    """Raise kubernetes_validate's ValidationError (or SchemaNotFoundError) unless ``obj`` is a
    valid object of its kind in Kubernetes ``K8S_VERSION``."""
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def _merge(base: Any, patch: Any) -> Any:
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


def _conf(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split(" ", 2) if line.startswith("sentinel ") else line.split(" ", 1)
        key = " ".join(parts[:2]) if line.startswith("sentinel ") else parts[0]
        found[key] = parts[-1] if len(parts) > (2 if line.startswith("sentinel ") else 1) else ""
    return found


@dataclass
class FakeKube:
    net: FakeRedisNet = field(default_factory=FakeRedisNet)
    objects: dict[Key, Manifest] = field(default_factory=dict)
    volumes: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)  # (ns, claim) -> files
    unreachable: set[str] = field(default_factory=set)  # pods whose exec fails
    created: builtins.list[Manifest] = field(default_factory=list)  # every object created, as given
    execs: builtins.list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (pod, argv)

    def __post_init__(self) -> None:
        self.ips: dict[str, Key] = {}

    # -- KubeApi --------------------------------------------------------------------------------

    def apply(self, obj: Manifest) -> Manifest:
        key = (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if key in self.objects:
            self._store(key, _merge(self.objects[key], obj))
            return copy.deepcopy(self.objects[key])
        validate(obj)
        namespace = key[1]
        if namespace is not None and ("Namespace", None, namespace) not in self.objects:
            raise KubeError(f"kubernetes refused to create {key[0]} {namespace}/{key[2]}: 404 namespace not found")
        if obj["kind"] == "Service" and obj["spec"].get("clusterIP") not in (None, "None"):
            holder = self.ips.get(obj["spec"]["clusterIP"])
            if holder is not None and holder != key:
                raise KubeError(f"kubernetes refused to create Service {key[2]}: 422 provided IP is already allocated")
            self.ips[obj["spec"]["clusterIP"]] = key
        self.created.append(copy.deepcopy(obj))
        self._store(key, copy.deepcopy(obj))
        return copy.deepcopy(self.objects[key])

    def get(self, kind: str, namespace: str | None, name: str) -> Manifest | None:
        found = self.objects.get((kind, namespace, name))
        if found is None:
            return None
        return self._with_status(copy.deepcopy(found))

    def list(self, kind: str, namespace: str | None, labels: dict[str, str]) -> builtins.list[Manifest]:
        found = []
        for (k, ns, _), obj in sorted(self.objects.items(), key=lambda item: str(item[0])):
            held = obj["metadata"].get("labels", {})
            if (
                k == kind
                and (namespace is None or ns == namespace)
                and all(held.get(a) == b for a, b in labels.items())
            ):
                found.append(self._with_status(copy.deepcopy(obj)))
        return found

    def patch(self, kind: str, namespace: str | None, name: str, patch: Manifest) -> None:
        key = (kind, namespace, name)
        if key not in self.objects:
            raise KubeError(f"kubernetes refused to patch {kind} {namespace}/{name}: 404 Not Found")
        self._store(key, _merge(self.objects[key], patch))

    def delete(self, kind: str, namespace: str | None, name: str, grace_s: int | None = None) -> None:
        key = (kind, namespace, name)
        obj = self.objects.pop(key, None)
        if obj is None:
            return
        if kind == "Service":
            self.ips.pop(obj["spec"].get("clusterIP", ""), None)
        if kind == "Namespace":
            for other in [k for k in self.objects if k[1] == name]:
                self.delete(*other)
        if kind == "StatefulSet":
            self._scale(namespace or "", name, obj, 0, delete_claims=True)
        if kind == "Pod":
            self._pod_gone(namespace or "", name)
            self._reconcile()
        if kind == "PersistentVolumeClaim":
            self.volumes.pop((namespace or "", name), None)

    def exec(
        self,
        namespace: str,
        pod: str,
        container: str,
        argv: Sequence[str],
        stdin: IO[bytes] | None = None,
        stdout: IO[bytes] | None = None,
        timeout_s: float = 60.0,
    ) -> ExecResult:
        if ("Pod", namespace, pod) not in self.objects or pod in self.unreachable:
            raise KubeError(f"cannot exec in {namespace}/{pod} ({container}): pod unreachable")
        argv = list(argv)
        self.execs.append((pod, tuple(argv)))
        files = self.files(namespace, pod)
        result = self._run(namespace, pod, files, argv, stdin)
        if stdout is not None:
            stdout.write(result.stdout)
            return ExecResult(result.returncode, b"", result.stderr)
        return result

    # -- the kubelet ---------------------------------------------------------------------------

    def _run(
        self, ns: str, pod: str, files: dict[str, bytes], argv: builtins.list[str], stdin: IO[bytes] | None
    ) -> ExecResult:
        if argv == pod_files.state():
            return ExecResult(0, "".join(f"{name}\n" for name in sorted(files)).encode())
        if argv[:2] == ["sh", "-c"] and len(argv) == 6 and argv[3] == "write":
            assert stdin is not None
            files[argv[5].removeprefix("/data/")] = stdin.read(int(argv[4]))
            return ExecResult(0)
        if argv[0] == "cat":
            name = argv[1].removeprefix("/data/")
            return ExecResult(0, files[name]) if name in files else ExecResult(1, b"", "No such file")
        if argv == pod_files.remove_aof():
            for name in [n for n in files if n.startswith("appendonlydir/")]:
                del files[name]
            return ExecResult(0)
        if argv == pod_files.wipe():
            files.clear()
            return ExecResult(0)
        for process in (pod_files.REDIS, pod_files.SENTINEL):
            if argv == pod_files.send_start(process):
                if f"{process}.running" not in files:
                    self._start(ns, pod, files, process)
                return ExecResult(0)
            if argv == pod_files.withdraw_start(process):
                return ExecResult(0)
            if argv in (pod_files.kill(process, "KILL"), pod_files.kill(process, "TERM")):
                self._stop(ns, pod, files, process)
                return ExecResult(0)
        raise AssertionError(f"exec {argv} is not faked")

    def address_of(self, ns: str, pod: str) -> str | None:
        for (kind, namespace, _), obj in self.objects.items():
            if (
                kind == "Service"
                and namespace == ns
                and obj["spec"].get("selector", {}).get(names.POD_NAME_LABEL) == pod
            ):
                address: str = obj["spec"]["clusterIP"]
                return address
        return None

    def _start(self, ns: str, pod: str, files: dict[str, bytes], process: str) -> None:
        address = self.address_of(ns, pod)
        assert address is not None, f"no Service selects {pod}"
        conf = _conf(files[f"{process}.conf"].decode())
        if process == pod_files.SENTINEL:
            server = FakeServer(address, 26379, conf, sentinel_of=conf["sentinel monitor"].split()[0])
        else:
            port = int(conf["tls-port"]) if conf.get("port") == "0" else int(conf["port"])
            server = FakeServer(address, port, conf, priority=int(conf.get("replica-priority", "100")))
            if "replicaof" in conf:
                server.role, server.master = "replica", conf["replicaof"].split()[0]
            if "dump.rdb" in files:
                server.keys = keys_of_snapshot(files["dump.rdb"])

            def saved(snapshot: bytes) -> None:
                files["dump.rdb"] = snapshot

            def exited(snapshot: bytes | None) -> None:
                if snapshot is not None:
                    files["dump.rdb"] = snapshot
                files.pop("redis.running", None)

            server.on_save, server.on_exit = saved, exited
        files[f"{process}.running"] = b""
        self.net.up(server)

    def _stop(self, ns: str, pod: str, files: dict[str, bytes], process: str) -> None:
        address = self.address_of(ns, pod)
        if f"{process}.running" in files and address is not None:
            port = 26379 if process == pod_files.SENTINEL else self._redis_port(address)
            self.net.down(address, port)
        files.pop(f"{process}.running", None)

    def _redis_port(self, address: str) -> int:
        server = self.net.redis_at(address)
        return server.port if server else 6379

    def _pod_gone(self, ns: str, pod: str) -> None:
        """A pod deleted: its processes end with it (its volume stays)."""
        address = self.address_of(ns, pod)
        if address is not None:
            for port in (6379, 6380, 26379):
                self.net.down(address, port)
        statefulset, ordinal = pod.rsplit("-", 1)
        files = self.volumes.get((ns, names.claim(statefulset, int(ordinal))), {})
        for flag in ("redis.running", "sentinel.running"):
            files.pop(flag, None)

    # -- the StatefulSet controller ------------------------------------------------------------

    def _store(self, key: Key, obj: Manifest) -> None:
        self.objects[key] = obj
        self._reconcile()

    def _reconcile(self) -> None:
        for (kind, ns, name), obj in list(self.objects.items()):
            if kind == "StatefulSet":
                self._scale(ns or "", name, obj, int(obj["spec"].get("replicas", 1)), delete_claims=False)

    def _scale(self, ns: str, name: str, statefulset: Manifest, replicas: int, delete_claims: bool) -> None:
        labels = statefulset["spec"]["template"]["metadata"]["labels"]
        containers = [c["name"] for c in statefulset["spec"]["template"]["spec"]["containers"]]
        for ordinal in range(replicas):
            pod = names.pod(name, ordinal)
            self.volumes.setdefault((ns, names.claim(name, ordinal)), {})
            claim_key = ("PersistentVolumeClaim", ns, names.claim(name, ordinal))
            if claim_key not in self.objects:
                meta = {"name": claim_key[2], "namespace": ns, "labels": dict(labels)}
                self.objects[claim_key] = {"kind": "PersistentVolumeClaim", "metadata": meta}
            if ("Pod", ns, pod) not in self.objects:
                self.objects[("Pod", ns, pod)] = {
                    "kind": "Pod",
                    "metadata": {"name": pod, "namespace": ns, "labels": {**labels, names.POD_NAME_LABEL: pod}},
                    "spec": {"containers": [{"name": c} for c in containers]},
                }
        for (kind, namespace, pod), _ in list(self.objects.items()):
            ours = kind == "Pod" and namespace == ns and pod.rsplit("-", 1)[0] == name
            if ours and int(pod.rsplit("-", 1)[1]) >= replicas:
                self._pod_gone(ns, pod)
                del self.objects[(kind, namespace, pod)]
        policy = statefulset["spec"].get("persistentVolumeClaimRetentionPolicy", {})
        if delete_claims or policy.get("whenScaled") == "Delete":
            for (kind, namespace, claim), _ in list(self.objects.items()):
                prefix = f"{names.DATA_VOLUME}-{name}-"
                ours = kind == "PersistentVolumeClaim" and namespace == ns and claim.startswith(prefix)
                if ours and int(claim.removeprefix(prefix)) >= replicas:
                    del self.objects[(kind, namespace, claim)]
                    self.volumes.pop((ns, claim), None)

    def _with_status(self, obj: Manifest) -> Manifest:
        if obj["kind"] != "Pod":
            return obj
        statefulset, ordinal = obj["metadata"]["name"].rsplit("-", 1)
        files = self.volumes.get((obj["metadata"]["namespace"], names.claim(statefulset, int(ordinal))), {})
        statuses = [
            {"name": c["name"], "ready": f"{c['name']}.running" in files, "state": {"running": {}}}
            for c in obj["spec"]["containers"]
        ]
        obj["status"] = {"phase": "Running", "containerStatuses": statuses}
        return obj

    # -- for the tests -------------------------------------------------------------------------

    def files(self, ns: str, pod: str) -> dict[str, bytes]:
        statefulset, ordinal = pod.rsplit("-", 1)
        return self.volumes[(ns, names.claim(statefulset, int(ordinal)))]

    def names_of(self, kind: str, namespace: str | None = None) -> builtins.list[str]:
        return sorted(name for (k, ns, name) in self.objects if k == kind and (namespace is None or ns == namespace))
