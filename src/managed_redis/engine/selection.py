"""The data plane the ``engine`` setting names, built once by the composition root (``app.py``)."""

from __future__ import annotations

from managed_redis.engine.base import Engine
from managed_redis.engine.local import LocalEngine
from managed_redis.settings import Settings, SettingsError

ENGINES = ("local", "kubernetes")


def open_engine(settings: Settings) -> Engine:
    """``LocalEngine`` for ``local``; for ``kubernetes`` a ``KubernetesEngine`` on the official
    client, configured from the pod's service account in a cluster, else from ``KUBECONFIG``.
    Raises SettingsError naming the setting for any other value, or when no Kubernetes
    configuration can be found."""
    if settings.engine == "local":
        return LocalEngine()
    if settings.engine == "kubernetes":
        from managed_redis.engine.kubernetes.api import OfficialKubeApi
        from managed_redis.engine.kubernetes.engine import KubernetesEngine
        from managed_redis.engine.kubernetes.options import KubernetesOptions

        try:
            api = OfficialKubeApi()
        except Exception as exc:  # the client's ConfigException, or a kubeconfig it cannot read
            raise SettingsError(f"MREDIS_ENGINE=kubernetes: no Kubernetes configuration found ({exc})") from exc
        return KubernetesEngine(api, KubernetesOptions.from_settings(settings))
    raise SettingsError(f"MREDIS_ENGINE: expected one of {', '.join(ENGINES)}, got {settings.engine!r}")
