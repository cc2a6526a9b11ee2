"""Flags as yc spells them, turned into the API's JSON: ``--host zone-id=…,shard-name=…``,
``--labels k=v,…``, disk sizes in GB, times (``--since 2h``), and the request bodies of
Create/Restore/Update.

Pure functions (no HTTP); a malformed flag raises ``argparse.ArgumentTypeError``, which
argparse reports as a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from typing import Any

GIB = 2**30

# --host keys, as yc spells them, and the HostSpec / UpdateHostSpec JSON field of each.
HOST_KEYS = {
    "zone-id": "zoneId",
    "subnet-id": "subnetId",
    "shard-name": "shardName",
    "replica-priority": "replicaPriority",
    "assign-public-ip": "assignPublicIp",
    "host-name": "hostName",
}
_BOOLEAN = {"true": True, "false": False}


def key_values(text: str) -> dict[str, str]:
    """``a=1,b=2`` as {"a": "1", "b": "2"}. Raises ArgumentTypeError on a part without ``=``."""
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"{part!r} is not key=value")
        pairs[key.strip()] = value.strip()
    return pairs


def host_spec(text: str) -> dict[str, Any]:
    """One ``--host`` (``zone-id=ru-central1-a,shard-name=s1,replica-priority=50``) as the
    API's HostSpec JSON. Raises ArgumentTypeError naming an unknown key or a bad value."""
    spec: dict[str, Any] = {}
    for key, value in key_values(text).items():
        if key not in HOST_KEYS:
            raise argparse.ArgumentTypeError(f"unknown host key {key!r} (known: {', '.join(HOST_KEYS)})")
        if key == "replica-priority":
            if not value.isdigit():
                raise argparse.ArgumentTypeError(f"replica-priority must be a number, not {value!r}")
            spec[HOST_KEYS[key]] = value
        elif key == "assign-public-ip":
            if value.lower() not in _BOOLEAN:
                raise argparse.ArgumentTypeError(f"assign-public-ip must be true or false, not {value!r}")
            spec[HOST_KEYS[key]] = _BOOLEAN[value.lower()]
        else:
            spec[HOST_KEYS[key]] = value
    if not spec:
        raise argparse.ArgumentTypeError("an empty --host")
    return spec


def update_host_spec(text: str) -> dict[str, Any]:
    """One ``--host host-name=…,replica-priority=…`` of update-hosts as UpdateHostSpec JSON,
    its updateMask naming what was given. Raises ArgumentTypeError."""
    spec = host_spec(text)
    if "hostName" not in spec:
        raise argparse.ArgumentTypeError("host-name is required in an update-hosts --host")
    extra = set(spec) - {"hostName", "replicaPriority", "assignPublicIp"}
    if extra:
        raise argparse.ArgumentTypeError(f"update-hosts cannot change {', '.join(sorted(extra))}")
    # Over REST a FieldMask names camelCase paths (api.md §1.3).
    return {**spec, "updateMask": ",".join(k for k in spec if k != "hostName")}


def gigabytes(text: str) -> str:
    """A ``--disk-size`` in GB (GiB, as yc counts them) as bytes, the API's int64 string."""
    try:
        size = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"disk size must be a number of GB, not {text!r}") from None
    if size <= 0:
        raise argparse.ArgumentTypeError(f"disk size must be positive, not {text!r}")
    return str(int(size * GIB))


def time_of_day(text: str) -> dict[str, int]:
    """``HH:MM`` (UTC) as a google.type.TimeOfDay. Raises ArgumentTypeError."""
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise argparse.ArgumentTypeError(f"time must be HH:MM, not {text!r}")
    return {"hours": int(hours), "minutes": int(minutes)}


def boolean(text: str) -> bool:
    """``true`` or ``false`` (any case) as a bool. Raises ArgumentTypeError on anything else."""
    if text.lower() not in _BOOLEAN:
        raise argparse.ArgumentTypeError(f"must be true or false, not {text!r}")
    return _BOOLEAN[text.lower()]


_SPAN = re.compile(r"(\d+)([smhd])")
_SPAN_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def moment(text: str, now: dt.datetime | None = None) -> str:
    """``--since``/``--until``: an RFC 3339 time (``2026-12-01T09:30:00Z``; UTC when it names
    no offset) or a span before ``now`` (default: the clock's) in whole seconds, minutes, hours
    or days (``30m``, ``2h``, ``1d``), as the RFC 3339 UTC time the API reads. Raises
    ArgumentTypeError, which argparse reports naming the flag."""
    span = _SPAN.fullmatch(text.strip())
    if span:
        seconds = int(span.group(1)) * _SPAN_S[span.group(2)]
        at = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=seconds)
    else:
        try:
            at = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be an RFC 3339 time (2026-12-01T09:30:00Z) or a span before now (30m, 2h, 1d), not {text!r}"
            ) from None
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def redis_settings(text: str) -> dict[str, Any]:
    """``--redis-config activedefrag=true,timeout=60`` as RedisConfig JSON: ``true``/``false``
    as JSON booleans (the API refuses them quoted), every other value as the string given
    (proto JSON reads int64 and enum fields from strings). Raises ArgumentTypeError."""
    return {key: _BOOLEAN.get(value.lower(), value) for key, value in key_values(text).items()}


def labels(text: str) -> dict[str, str]:
    """``--labels env=prod,team=cache`` as the API's labels map."""
    return key_values(text)


def config_spec(args: argparse.Namespace) -> dict[str, Any]:
    """The ConfigSpec JSON of Create/Restore from their flags (only what was given)."""
    resources = {
        key: value
        for key, value in (
            ("resourcePresetId", args.resource_preset),
            ("diskSize", args.disk_size),
            ("diskTypeId", args.disk_type_id),
        )
        if value is not None
    }
    redis: dict[str, Any] = dict(args.redis_config or {})  # already JSON values (redis_settings)
    if args.password is not None:
        redis["password"] = args.password
    spec: dict[str, Any] = {"resources": resources, "redis": redis}
    if args.redis_version:
        spec["version"] = args.redis_version
    if args.backup_window_start:
        spec["backupWindowStart"] = args.backup_window_start
    return spec


def new_cluster_body(args: argparse.Namespace) -> dict[str, Any]:
    """The body of Create (or Restore, with ``backupId`` added by the caller) from the flags."""
    body: dict[str, Any] = {
        "name": args.name,
        "environment": args.environment,
        "configSpec": config_spec(args),
        "hostSpecs": args.host or [],
    }
    optional = {
        "description": args.description,
        "labels": args.labels,
        "networkId": args.network_id,
        "persistenceMode": args.persistence_mode,
        "securityGroupIds": args.security_group_ids,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    for key, flag in (
        ("sharded", args.sharded),
        ("tlsEnabled", args.tls_enabled),
        ("deletionProtection", args.deletion_protection),
        ("announceHostnames", args.announce_hostnames),
        ("authSentinel", args.auth_sentinel),
    ):
        if flag:
            body[key] = True
    return body
