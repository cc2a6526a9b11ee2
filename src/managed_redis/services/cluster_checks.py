"""Semantic checks of cluster requests, beyond what the descriptors say (api.md §3, §7).

Each check returns field violations rather than raising, so that one reply lists every
problem of a request; ``raise_if_any`` turns them into one INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import Sequence

from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.mdb.redis.v1.config import redis_pb2

from managed_redis.catalog.presets import PRESETS_BY_ID
from managed_redis.catalog.versions import RedisVersion
from managed_redis.domain import redis_config
from managed_redis.domain.topology import (
    DISK_TYPES,
    MAX_HOSTS_NON_SHARDED,
    MAX_HOSTS_PER_SHARD,
    MAX_HOSTS_SHARDED,
    MAX_SHARDS,
    known_zone,
    zones_text,
)
from managed_redis.errors import FieldViolation, InvalidArgument

PASSWORD_LENGTH = (8, 128)
_LEGACY_CONFIGS = ("redis_config_7_0", "redis_config_6_2", "redis_config_6_0", "redis_config_5_0")


def raise_if_any(violations: Sequence[FieldViolation]) -> None:
    if violations:
        raise InvalidArgument.fields(list(violations))


def unified_redis_config(spec: service_pb.ConfigSpec) -> redis_pb2.RedisConfig:
    """``spec.redis``, or the deprecated ``redis_config_X_Y`` the request used instead."""
    which = spec.WhichOneof("redis_spec")
    if spec.HasField("redis") or which is None:
        return spec.redis
    legacy = getattr(spec, which)
    unified = redis_pb2.RedisConfig()
    for field, value in legacy.ListFields():
        if field.name in unified.DESCRIPTOR.fields_by_name:
            if field.message_type is None:
                setattr(unified, field.name, value)
            else:
                getattr(unified, field.name).CopyFrom(value)
    return unified


def normalized_config_spec(spec: service_pb.ConfigSpec) -> service_pb.ConfigSpec:
    """A copy of ``spec`` that uses the unified ``redis`` field only."""
    result = service_pb.ConfigSpec()
    result.CopyFrom(spec)
    unified = unified_redis_config(spec)
    for name in _LEGACY_CONFIGS:
        result.ClearField(name)  # type: ignore[arg-type]
    result.redis.CopyFrom(unified)
    return result


def check_password(password: str, path: str, required: bool) -> list[FieldViolation]:
    if not password:
        return [FieldViolation(path, "required")] if required else []
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        return [FieldViolation(path, f"must be {low}-{high} characters long")]
    return []


def resolve_version(
    requested: str, versions: Sequence[RedisVersion], path: str
) -> tuple[RedisVersion | None, list[FieldViolation]]:
    """The version to run: the one asked for, or the newest one here when none was given."""
    if not versions:
        return None, [FieldViolation(path, "no Redis binary was found on this server")]
    if not requested:
        return versions[-1], []
    for version in versions:
        if version.id == requested:
            return version, []
    available = ", ".join(v.id for v in versions)
    return None, [FieldViolation(path, f"version {requested!r} not found; available here: {available}")]


def check_config_spec(
    spec: service_pb.ConfigSpec, version: RedisVersion | None, sharded: bool, prefix: str = "config_spec"
) -> list[FieldViolation]:
    """Everything in a ConfigSpec this server cannot honour (the version is checked apart)."""
    problems: list[FieldViolation] = []
    resources = spec.resources
    if not resources.resource_preset_id:
        problems.append(FieldViolation(f"{prefix}.resources.resource_preset_id", "required"))
    elif resources.resource_preset_id not in PRESETS_BY_ID:
        problems.append(
            FieldViolation(
                f"{prefix}.resources.resource_preset_id",
                f"unknown resource preset {resources.resource_preset_id!r}; see ResourcePresetService.List",
            )
        )
    if resources.disk_type_id and resources.disk_type_id not in DISK_TYPES:
        problems.append(
            FieldViolation(
                f"{prefix}.resources.disk_type_id",
                f"unknown disk type {resources.disk_type_id!r}; known: {', '.join(sorted(DISK_TYPES))}",
            )
        )
    if resources.disk_size < 0:
        problems.append(FieldViolation(f"{prefix}.resources.disk_size", "must be >=0"))
    if version is not None:
        problems += redis_config.check(
            unified_redis_config(spec), (version.major, version.minor), sharded, f"{prefix}.redis"
        )
    modules = spec.modules
    for name in ("valkey_search", "valkey_json", "valkey_bloom"):
        if getattr(modules, name).enabled:
            problems.append(FieldViolation(f"{prefix}.modules.{name}", "Valkey modules are not available here"))
    if spec.HasField("tiered_storage_enabled") and spec.tiered_storage_enabled.value:
        problems.append(FieldViolation(f"{prefix}.tiered_storage_enabled", "tiered storage is not available here"))
    return problems


def check_host_specs(
    host_specs: Sequence[service_pb.HostSpec], tls_enabled: bool, sharded: bool, prefix: str = "host_specs"
) -> list[FieldViolation]:
    problems: list[FieldViolation] = []
    if not sharded and len(host_specs) > MAX_HOSTS_NON_SHARDED:
        problems.append(
            FieldViolation(prefix, f"a non-sharded cluster has 1-{MAX_HOSTS_NON_SHARDED} hosts, not {len(host_specs)}")
        )
    for index, host in enumerate(host_specs):
        path = f"{prefix}[{index}]"
        if not host.zone_id:
            problems.append(FieldViolation(f"{path}.zone_id", "required"))
        elif not known_zone(host.zone_id):
            problems.append(FieldViolation(f"{path}.zone_id", f"unknown zone {host.zone_id!r}; zones: {zones_text()}"))
        if host.assign_public_ip and not tls_enabled:
            problems.append(
                FieldViolation(f"{path}.assign_public_ip", "a public address needs a TLS cluster (tls_enabled)")
            )
        if host.HasField("replica_priority") and host.replica_priority.value < 0:
            problems.append(FieldViolation(f"{path}.replica_priority", "must be >=0"))
    return problems


def check_shard_layout(
    host_specs: Sequence[service_pb.HostSpec], prefix: str = "host_specs", shard_count: int | None = None
) -> list[FieldViolation]:
    """A new sharded cluster's hosts: each names its shard; 1 or 3-10 shards at creation
    (api.md §7.3), or exactly ``shard_count`` (a restore, which keeps its backup's layout)."""
    problems: list[FieldViolation] = []
    shards: dict[str, int] = {}
    for index, host in enumerate(host_specs):
        if not host.shard_name:
            zone = host.zone_id or "no zone"
            problems.append(
                FieldViolation(f"{prefix}[{index}].shard_name", f"required for a sharded cluster (host in {zone})")
            )
        else:
            shards[host.shard_name] = shards.get(host.shard_name, 0) + 1
    if shard_count is not None:
        if len(shards) != shard_count:
            problems.append(FieldViolation(prefix, f"the backup has {shard_count} shards; name {shard_count} shards"))
    elif shards and (len(shards) == 2 or len(shards) > MAX_SHARDS):
        problems.append(
            FieldViolation(prefix, f"a sharded cluster starts with 1 or 3-{MAX_SHARDS} shards, not {len(shards)}")
        )
    for name, count in shards.items():
        if count > MAX_HOSTS_PER_SHARD:
            problems.append(
                FieldViolation(prefix, f"shard {name} has {count} hosts; a shard has 1-{MAX_HOSTS_PER_SHARD}")
            )
    if len(host_specs) > MAX_HOSTS_SHARDED:
        problems.append(FieldViolation(prefix, f"a sharded cluster has at most {MAX_HOSTS_SHARDED} hosts"))
    return problems
