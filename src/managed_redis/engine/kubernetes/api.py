"""The few Kubernetes API calls the engine makes, as one protocol on plain dicts.

``KubeApi`` is what ``KubernetesEngine`` speaks; ``OfficialKubeApi`` implements it on the
official ``kubernetes`` client (typed ``CoreV1Api``/``AppsV1Api``/``PolicyV1Api`` calls, exec
through its websocket ``stream``); the unit tests have an in-memory fake
(``tests/support/fake_kube.py``).

Errors: a call the API server refuses, or that cannot reach it, raises ``KubeError`` (an
``EngineError``) saying which object and why; ``get`` of an absent object is None and
``delete`` of one is a no-op. An exec whose command exits non-zero is not an error of the
call: its ``ExecResult`` says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

from managed_redis.engine.errors import EngineError

log = logging.getLogger(__name__)

Manifest = dict[str, Any]
CHUNK = 64 * 1024


class KubeError(EngineError):
    """The Kubernetes API refused a call or could not be reached; the message names the object."""


@dataclass(frozen=True)
class ExecResult:
    """How a command run in a container ended: its exit status and what it wrote on stderr
    (stdout goes to the caller's stream, or into ``stdout`` when none was given)."""

    returncode: int
    stdout: bytes = b""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class KubeApi(Protocol):
    def apply(self, obj: Manifest) -> Manifest:
        """Create ``obj``, or merge it into the object already there (a strategic merge patch:
        fields it does not name are left as they are). Returns the object as stored.
        Raises KubeError."""

    def get(self, kind: str, namespace: str | None, name: str) -> Manifest | None:
        """The object, or None if there is none. Raises KubeError."""

    def list(self, kind: str, namespace: str | None, labels: dict[str, str]) -> list[Manifest]:
        """The objects of ``kind`` carrying every label of ``labels``, in ``namespace`` (None:
        every namespace). Raises KubeError."""

    def patch(self, kind: str, namespace: str | None, name: str, patch: Manifest) -> None:
        """Merge ``patch`` into the object (a None value removes a key). Raises KubeError (also
        when the object is not there)."""

    def delete(self, kind: str, namespace: str | None, name: str, grace_s: int | None = None) -> None:
        """Delete the object (its dependents in the background); nothing if it is not there.
        ``grace_s`` overrides a pod's grace period. Raises KubeError."""

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
        """Run ``argv`` in ``container`` of ``pod``, feeding it ``stdin`` and writing what it
        prints to ``stdout`` (else into the result). Raises KubeError if it cannot be run
        (no such pod, container not running) or does not end within ``timeout_s``."""


# kind -> (API group attribute, snake-case name, namespaced)
_KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("core", "namespace", False),
    "Secret": ("core", "secret", True),
    "Service": ("core", "service", True),
    "Pod": ("core", "pod", True),
    "PersistentVolumeClaim": ("core", "persistent_volume_claim", True),
    "StatefulSet": ("apps", "stateful_set", True),
    "PodDisruptionBudget": ("policy", "pod_disruption_budget", True),
}


class OfficialKubeApi:
    """``KubeApi`` on the official ``kubernetes`` client. Configured from the pod's service
    account when running in a cluster, else from ``KUBECONFIG`` (or ``~/.kube/config``)."""

    def __init__(self, api_client: Any = None) -> None:
        from kubernetes import client, config

        if api_client is None:
            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            api_client = client.ApiClient()
        self._client = api_client
        self._groups = {
            "core": client.CoreV1Api(api_client),
            "apps": client.AppsV1Api(api_client),
            "policy": client.PolicyV1Api(api_client),
        }

    def _call(self, verb: str, kind: str, namespace: str | None, name: str | None, **kwargs: Any) -> Any:
        """``<verb>_[namespaced_]<kind>`` with the arguments that call takes, in its order:
        the name (read, patch, delete), the namespace, then keyword arguments (``body``)."""
        from kubernetes.client.exceptions import ApiException

        group, snake, namespaced = _KINDS[kind]
        args: list[Any] = [] if name is None else [name]
        if not namespaced:
            method = f"{verb}_{snake}"
        elif namespace is None:  # only a list reaches every namespace
            method = f"{verb}_{snake}_for_all_namespaces"
        else:
            method = f"{verb}_namespaced_{snake}"
            args.append(namespace)
        try:
            return getattr(self._groups[group], method)(*args, **kwargs)
        except ApiException as exc:
            if exc.status == 404 and verb in ("read", "delete"):
                return None
            where = "/".join(part for part in (namespace, name) if part)
            raise KubeError(f"kubernetes refused to {verb} {kind} {where}: {exc.status} {exc.reason}") from exc
        except Exception as exc:  # the client lets urllib3's and the socket's errors through
            raise KubeError(f"the kubernetes API could not be reached to {verb} {kind} {name or ''}: {exc}") from exc

    def _plain(self, obj: Any) -> Manifest:
        plain: Manifest = self._client.sanitize_for_serialization(obj)
        return plain

    def apply(self, obj: Manifest) -> Manifest:
        """``KubeApi.apply``: create, or on 409 (it exists) patch. Raises KubeError."""
        kind, meta = obj["kind"], obj["metadata"]
        namespace = meta.get("namespace")
        try:
            return self._plain(self._call("create", kind, namespace, None, body=obj))
        except KubeError as exc:
            if not isinstance(exc.__cause__, Exception) or getattr(exc.__cause__, "status", None) != 409:
                raise
        return self._plain(self._call("patch", kind, namespace, meta["name"], body=obj))

    def get(self, kind: str, namespace: str | None, name: str) -> Manifest | None:
        found = self._call("read", kind, namespace, name)
        return None if found is None else self._plain(found)

    def list(self, kind: str, namespace: str | None, labels: dict[str, str]) -> list[Manifest]:
        selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
        found = self._call("list", kind, namespace, None, label_selector=selector)
        return [self._plain(item) for item in found.items]

    def patch(self, kind: str, namespace: str | None, name: str, patch: Manifest) -> None:
        self._call("patch", kind, namespace, name, body=patch)

    def delete(self, kind: str, namespace: str | None, name: str, grace_s: int | None = None) -> None:
        extra: dict[str, Any] = {"propagation_policy": "Background"}
        if grace_s is not None:
            extra["grace_period_seconds"] = grace_s
        self._call("delete", kind, namespace, name, **extra)

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
        """``KubeApi.exec`` through the API server's exec stream. Raises KubeError."""
        import time

        from kubernetes.stream import stream

        core = self._groups["core"]
        try:
            session = stream(
                core.connect_get_namespaced_pod_exec,
                pod,
                namespace,
                container=container,
                command=list(argv),
                stdin=stdin is not None,
                stdout=True,
                stderr=True,
                tty=False,
                _preload_content=False,
                binary=True,
            )
        except Exception as exc:
            raise KubeError(f"cannot exec in {namespace}/{pod} ({container}): {exc}") from exc
        collected, errors = bytearray(), bytearray()
        deadline = time.monotonic() + timeout_s
        try:
            if stdin is not None:
                while chunk := stdin.read(CHUNK):
                    session.write_stdin(chunk)
            while session.is_open():
                if time.monotonic() > deadline:
                    raise KubeError(f"{argv[0]} in {namespace}/{pod} ({container}) ran past {timeout_s:.0f} s")
                session.update(timeout=1)
                if session.peek_stdout():
                    data = session.read_stdout()
                    if stdout is not None:
                        stdout.write(data)
                    else:
                        collected += data
                if session.peek_stderr():
                    errors += session.read_stderr()
            # what arrived with the end of the session
            rest = session.read_stdout(timeout=0) if session.peek_stdout(timeout=0) else b""
            if stdout is not None:
                stdout.write(rest)
            else:
                collected += rest
            errors += session.read_stderr(timeout=0) if session.peek_stderr(timeout=0) else b""
            code = session.returncode
        finally:
            session.close()
        return ExecResult(0 if code is None else int(code), bytes(collected), errors.decode(errors="replace"))
