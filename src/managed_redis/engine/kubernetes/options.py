"""The settings the Kubernetes engine reads, as one value built from ``Settings``."""

from __future__ import annotations

from dataclasses import dataclass

from managed_redis.settings import Settings

# The image each flavour's pods run when ``kubernetes_image`` names none; ``{version}`` is the
# host's release (``7.0.15``).
DEFAULT_IMAGES = {
    "redis": "docker.io/library/redis:{version}",
    "valkey": "docker.io/valkey/valkey:{version}",
}


@dataclass(frozen=True)
class KubernetesOptions:
    """Where and how the engine places hosts.

    ``namespace``: one namespace for every cluster (None: ``mredis-<cluster id>`` each);
    ``storage_class``: of the data volumes (None: the cluster's default); ``image``: a
    template with ``{version}`` and ``{flavor}`` (None: ``DEFAULT_IMAGES``);
    ``ready_timeout_s``: how long a new pod may take to run (scheduling, volume, image pull).
    """

    namespace: str | None = None
    storage_class: str | None = None
    image: str | None = None
    ready_timeout_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> KubernetesOptions:
        return cls(
            namespace=settings.kubernetes_namespace,
            storage_class=settings.kubernetes_storage_class,
            image=settings.kubernetes_image,
            ready_timeout_s=settings.kubernetes_ready_timeout_s,
        )

    def image_for(self, flavor: str, version: str) -> str:
        """The image of a host running ``flavor`` ``version``. Never raises: an unknown flavour
        gets the Redis image template."""
        template = self.image or DEFAULT_IMAGES.get(flavor, DEFAULT_IMAGES["redis"])
        return template.format(version=version, flavor=flavor)
