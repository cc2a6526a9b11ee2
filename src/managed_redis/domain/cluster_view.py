"""Cluster rows as the API shows them: ``yandex.cloud.mdb.redis.v1.Cluster``.

Besides what the cluster declares, the cloud fills (api.md §4, §8, §10.5):

- ``is_ha``: every shard has at least 2 active hosts of a non-burstable preset, and no zone
  holds more than half of a shard's hosts;
- ``config.full_version``: the server version the cluster's hosts run, minor included
  (``7.0.15``: what they were last started on, or the installed one when nothing was
  recorded), while ``config.version`` keeps the version asked for (``7.0``);
- ``planned_operation``: the cluster's SCHEDULED or RUNNING maintenance, if any: ``info`` its
  description, ``delayed_until`` its ``start_scheduled_at`` (api.md §10.3);
- ``config.redis_config_X_Y``: for a cluster on Redis X.Y with a legacy config set (5.0,
  6.0, 6.2, 7.0), its settings in that legacy shape too, so a client that created it with
  ``redisConfig_7_0`` reads them back where it wrote them;
- ``monitoring``: where to watch the cluster. This service has no console charts; it points
  at the REST ListHosts of the cluster (each host's role, health and services, as last
  seen) and at ``/metrics`` (Prometheus; the cluster's series carry ``cluster_id``), paths
  relative to the API's own address, and at the shipped Grafana dashboard
  (``deploy/grafana/managed-redis.json``, uid ``managed-redis``) opened on the cluster, a
  path relative to the Grafana it was imported into.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import cast

from google.protobuf import json_format
from google.protobuf.message import Message
from google.type import timeofday_pb2
from yandex.cloud.mdb.redis.v1 import cluster_pb2

from managed_redis.catalog.presets import PRESETS_BY_ID
from managed_redis.catalog.versions import RedisVersion
from managed_redis.domain import redis_config
from managed_redis.domain.backup_schedule import DEFAULT_RETAIN_DAYS, DEFAULT_WINDOW_HOUR
from managed_redis.domain.cluster_spec import config_spec_of, declared_of
from managed_redis.domain.timestamps import timestamp
from managed_redis.store.clusters import ClusterRecord
from managed_redis.store.maintenances import MaintenanceRecord

DEFAULT_BACKUP_WINDOW = timeofday_pb2.TimeOfDay(hours=DEFAULT_WINDOW_HOUR)
# Redis version id -> the ClusterConfig field holding its legacy config set.
LEGACY_CONFIG_FIELDS = {
    "5.0": "redis_config_5_0",
    "6.0": "redis_config_6_0",
    "6.2": "redis_config_6_2",
    "7.0": "redis_config_7_0",
}
MIN_HA_HOSTS = 2


def shard_is_ha(zones: Sequence[str], burstable: bool) -> bool:
    """A shard survives losing a host or a zone: ``zones`` holds one entry per active host."""
    if burstable or len(zones) < MIN_HA_HOSTS:
        return False
    return max(Counter(zones).values()) * 2 <= len(zones)


def shards_ha(preset_id: str, host_zones: Iterable[tuple[str, str]]) -> dict[str, bool]:
    """shard name -> whether it is HA; ``host_zones``: (shard name, zone id) of each active host."""
    by_shard: dict[str, list[str]] = {}
    for shard, zone in host_zones:
        by_shard.setdefault(shard, []).append(zone)
    preset = PRESETS_BY_ID.get(preset_id)
    burstable = preset.burstable if preset is not None else False
    return {shard: shard_is_ha(zones, burstable) for shard, zones in by_shard.items()}


def cluster_is_ha(preset_id: str, host_zones: Iterable[tuple[str, str]]) -> bool:
    """Every shard is HA (``shards_ha``); False without hosts."""
    by_shard = shards_ha(preset_id, host_zones)
    return bool(by_shard) and all(by_shard.values())


def monitoring_of(cluster_id: str) -> list[cluster_pb2.Monitoring]:
    return [
        cluster_pb2.Monitoring(
            name="Hosts",
            description="Role, health and services of each host, as the control plane last saw them",
            link=f"/managed-redis/v1/clusters/{cluster_id}/hosts",
        ),
        cluster_pb2.Monitoring(
            name="Metrics",
            description=f'Prometheus metrics of every host (series with cluster_id="{cluster_id}"); bearer token',
            link="/metrics",
        ),
        cluster_pb2.Monitoring(
            name="Grafana",
            description="The managed-redis dashboard (deploy/grafana/managed-redis.json) on this cluster, "
            "relative to the Grafana it is imported into",
            link=f"/d/managed-redis/managed-redis?var-cluster_id={cluster_id}",
        ),
    ]


def _legacy(values: dict[str, object], message_type: type[Message]) -> Message:
    """The settings of ``values`` that the legacy config message has (fields 1-10): a new
    message the caller may change."""
    # A message class is hashable (by identity); typeshed's Message says its instances are not.
    kept = _legacy_bytes(json.dumps(values, sort_keys=True), cast(Hashable, message_type))
    return message_type.FromString(kept)


@functools.lru_cache(maxsize=512)
def _legacy_bytes(values_json: str, message_class: Hashable) -> bytes:
    """``_legacy`` serialized, kept per distinct configuration (see ``redis_config.to_message``)."""
    unified = json_format.MessageToDict(
        redis_config.to_message(json.loads(values_json)), preserving_proto_field_name=True
    )
    message_type = cast(type[Message], message_class)
    known = message_type.DESCRIPTOR.fields_by_name
    message = message_type()
    json_format.ParseDict({k: v for k, v in unified.items() if k in known}, message)
    return message.SerializeToString()


def _fill_legacy_config(
    config: cluster_pb2.ClusterConfig, user: dict[str, object], effective: dict[str, object]
) -> None:
    field = LEGACY_CONFIG_FIELDS.get(config.version)
    if field is None:
        return
    legacy_set = getattr(config, field)
    config_type = type(legacy_set.user_config)
    legacy_set.user_config.CopyFrom(_legacy(user, config_type))
    legacy_set.effective_config.CopyFrom(_legacy(effective, config_type))
    legacy_set.default_config.CopyFrom(_legacy(redis_config.default_values(), config_type))


def cluster_proto(
    record: ClusterRecord,
    health: cluster_pb2.Cluster.Health.ValueType = cluster_pb2.Cluster.Health.HEALTH_UNKNOWN,
    *,
    host_zones: Sequence[tuple[str, str]] = (),
    versions: Sequence[RedisVersion] = (),
    planned: MaintenanceRecord | None = None,
) -> cluster_pb2.Cluster:
    """The cluster as Get shows it. ``host_zones``: (shard, zone) of each active host, for
    ``is_ha``; ``versions``: the versions this machine runs, for ``config.full_version``;
    ``planned``: its SCHEDULED or RUNNING maintenance, for ``planned_operation``."""
    cluster = declared_of(record)
    cluster.id = record.id
    cluster.folder_id = record.folder_id
    cluster.name = record.name
    cluster.created_at.CopyFrom(timestamp(record.created_at))
    cluster.status = cluster_pb2.Cluster.Status.Value(record.status)
    cluster.health = health
    cluster.sharded = record.sharded
    cluster.monitoring.extend(monitoring_of(record.id))
    spec = config_spec_of(record)
    cluster.is_ha = cluster_is_ha(spec.resources.resource_preset_id, host_zones)
    config = cluster.config
    config.version = spec.version
    config.full_version = record.running_version or next((v.full_version for v in versions if v.id == spec.version), "")
    if planned is not None:
        cluster.planned_operation.info = planned.description
        cluster.planned_operation.delayed_until.CopyFrom(timestamp(planned.start_scheduled_at))
    if spec.HasField("resources"):
        config.resources.CopyFrom(spec.resources)
    for name in ("access", "disk_size_autoscaling", "modules", "monium_logs", "shard_autoscaling_settings"):
        if spec.HasField(name):
            getattr(config, name).CopyFrom(getattr(spec, name))
    config.backup_window_start.CopyFrom(
        spec.backup_window_start if spec.HasField("backup_window_start") else DEFAULT_BACKUP_WINDOW
    )
    config.backup_retain_period_days.value = (
        spec.backup_retain_period_days.value if spec.HasField("backup_retain_period_days") else DEFAULT_RETAIN_DAYS
    )
    user = redis_config.user_values(spec.redis)
    effective = redis_config.effective_values(spec.redis)
    config.redis.user_config.CopyFrom(redis_config.to_message(user))
    config.redis.effective_config.CopyFrom(redis_config.to_message(effective))
    config.redis.default_config.CopyFrom(redis_config.to_message(redis_config.default_values()))
    _fill_legacy_config(config, user, effective)
    return cluster
