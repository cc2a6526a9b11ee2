"""The user-settable Redis configuration (``config.RedisConfig``) and what it means in Redis.

``PARAMETERS`` is the table: each API field, the ``redis.conf`` directive it sets, its
default, whether Redis takes it live (``CONFIG SET``) or only at start, and the oldest
Redis it exists in. Fields that steer the control plane rather than Redis (``allow_data_loss``,
``rebalance_enabled``, ...) have no directive. ``maxmemory_percent`` and
``repl_backlog_size_percent`` become byte sizes of the preset's memory.

``bounds`` is the range this server accepts, checked whichever config message (unified or a
legacy ``redis_config_X_Y``) carried the value. Where the SDK's descriptor allows more than a
machine can take, the bound is tighter (api.md §6): ``databases`` 1-1024 as the public cloud
API says (the SDK allows 2^31-1, and each database costs Redis memory at start);
``timeout`` 0-2147483647 as the docs say (the unified message has no rule, and Redis refuses
a negative one at start); ``slowlog_max_len`` at most 10,000 (our choice: an entry keeps up to
32 arguments of 128 bytes, so ~50 MB at worst). Client output buffer limits are at most the
host's memory (``check_buffer``). Every other numeric field keeps its descriptor's range,
repeated here so that legacy messages, whose descriptors say less, are held to it too.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from yandex.cloud.mdb.redis.v1.config import redis_pb2

from managed_redis.errors import FieldViolation

RedisConfig = redis_pb2.RedisConfig


@dataclass(frozen=True)
class Parameter:
    field: str
    directive: str | None
    default: Any
    live: bool = True
    since: tuple[int, int] = (0, 0)
    cluster_only: bool = False
    # Only "False" is possible here (a Valkey feature, say): True is refused.
    unsupported_when_true: bool = False
    # The values this server accepts (inclusive); None: not a number, or any value will do.
    bounds: tuple[int, int] | None = None


def _buffer(value: Any) -> dict[str, int]:
    return {
        "hardLimit": int(value.hard_limit.value),
        "softLimit": int(value.soft_limit.value),
        "softSeconds": int(value.soft_seconds.value),
    }


INT32_MAX = 2**31 - 1

PARAMETERS: tuple[Parameter, ...] = (
    Parameter("maxmemory_policy", "maxmemory-policy", "NOEVICTION"),
    Parameter("timeout", "timeout", 0, bounds=(0, INT32_MAX)),
    Parameter("databases", "databases", 16, live=False, bounds=(1, 1024)),
    Parameter("slowlog_log_slower_than", "slowlog-log-slower-than", 10000),
    Parameter("slowlog_max_len", "slowlog-max-len", 1000, bounds=(0, 10_000)),
    Parameter("notify_keyspace_events", "notify-keyspace-events", ""),
    Parameter(
        "client_output_buffer_limit_pubsub",
        "client-output-buffer-limit",
        {"hardLimit": 33554432, "softLimit": 8388608, "softSeconds": 60},
    ),
    Parameter(
        "client_output_buffer_limit_normal",
        "client-output-buffer-limit",
        {"hardLimit": 0, "softLimit": 0, "softSeconds": 0},
    ),
    Parameter("maxmemory_percent", "maxmemory", 75, bounds=(1, 75)),
    Parameter("lua_time_limit", "busy-reply-threshold", 5000, bounds=(0, 5000)),
    Parameter("repl_backlog_size_percent", "repl-backlog-size", 1, bounds=(1, 75)),
    Parameter("cluster_require_full_coverage", "cluster-require-full-coverage", False, cluster_only=True),
    Parameter("cluster_allow_reads_when_down", "cluster-allow-reads-when-down", False, cluster_only=True),
    Parameter("cluster_allow_pubsubshard_when_down", "cluster-allow-pubsubshard-when-down", False, cluster_only=True),
    Parameter("lfu_decay_time", "lfu-decay-time", 1, bounds=(0, 100_000)),
    Parameter("lfu_log_factor", "lfu-log-factor", 10, bounds=(0, 1000)),
    Parameter("turn_before_switchover", None, False),
    Parameter("allow_data_loss", None, False),
    Parameter("use_luajit", None, False, unsupported_when_true=True),
    Parameter("io_threads_allowed", "io-threads", False, live=False),
    Parameter("zset_max_listpack_entries", "zset-max-listpack-entries", 128, bounds=(32, 2048)),
    Parameter("aof_max_size_percent", None, 99, bounds=(1, 99)),
    Parameter("activedefrag", "activedefrag", False),
    Parameter("audit_log", None, False, unsupported_when_true=True),
    Parameter("rebalance_enabled", None, False),
    Parameter("hash_max_listpack_entries", "hash-max-listpack-entries", 512, bounds=(0, 2048)),
    Parameter("hash_max_listpack_value", "hash-max-listpack-value", 64, bounds=(0, 2048)),
    Parameter("list_max_listpack_size", "list-max-listpack-size", -2, bounds=(-5, 2048)),
    Parameter("set_max_listpack_entries", "set-max-listpack-entries", 128, since=(7, 2), bounds=(0, 2048)),
    Parameter("set_max_listpack_value", "set-max-listpack-value", 64, since=(7, 2), bounds=(0, 2048)),
    Parameter("zset_max_listpack_value", "zset-max-listpack-value", 64, bounds=(0, 2048)),
)
BY_FIELD = {parameter.field: parameter for parameter in PARAMETERS}


def user_values(config: RedisConfig) -> dict[str, Any]:
    """The fields the user set, as plain values (enums by name, buffers as dicts)."""
    values: dict[str, Any] = {}
    for parameter in PARAMETERS:
        name = parameter.field
        if name == "maxmemory_policy":
            if config.maxmemory_policy:
                values[name] = redis_pb2.RedisConfig.MaxmemoryPolicy.Name(config.maxmemory_policy)
        elif name == "notify_keyspace_events":
            if config.notify_keyspace_events:
                values[name] = config.notify_keyspace_events
        elif config.HasField(name):  # type: ignore[arg-type]
            value = getattr(config, name)
            values[name] = _buffer(value) if name.startswith("client_output") else value.value
    return values


def default_values() -> dict[str, Any]:
    return {p.field: p.default for p in PARAMETERS}


def effective_values(config: RedisConfig) -> dict[str, Any]:
    return {**default_values(), **user_values(config)}


def to_message(values: dict[str, Any]) -> RedisConfig:
    """A RedisConfig holding ``values`` (as ``user_values`` returns them): a new message the
    caller may change. Raises json_format.ParseError for a value its field cannot hold."""
    data = {RedisConfig.DESCRIPTOR.fields_by_name[name].json_name: value for name, value in values.items()}
    return RedisConfig.FromString(_message_bytes(json.dumps(data, sort_keys=True)))


@functools.lru_cache(maxsize=512)
def _message_bytes(data_json: str) -> bytes:
    """The serialized RedisConfig of ``data_json`` (its JSON form). Parsing the JSON form is
    ~0.2 ms a message, and every read of a cluster renders three of them (user, effective,
    default) twice over (the legacy per-version sets too) from a handful of distinct configs:
    kept here, a read parses bytes instead (microseconds)."""
    message = RedisConfig()
    json_format.ParseDict(json.loads(data_json), message)
    return message.SerializeToString()


def check(
    config: RedisConfig, version: tuple[int, int], sharded: bool, path: str, memory_bytes: int | None = None
) -> list[FieldViolation]:
    """What this server cannot honour in ``config`` for a cluster of ``version`` whose hosts
    have ``memory_bytes`` of RAM each (None: preset unknown, buffer sizes not checked)."""
    problems = []
    for name, value in user_values(config).items():
        parameter = BY_FIELD[name]
        if parameter.bounds and not parameter.bounds[0] <= value <= parameter.bounds[1]:
            low, high = parameter.bounds
            problems.append(FieldViolation(f"{path}.{name}", f"must be in {low}-{high}"))
        elif name.startswith("client_output_buffer_limit") and memory_bytes is not None:
            problems += check_buffer(value, memory_bytes, f"{path}.{name}")
        elif parameter.unsupported_when_true and value is True:
            problems.append(FieldViolation(f"{path}.{name}", "is a Valkey feature; this server runs Redis"))
        elif parameter.since > version:
            since = ".".join(map(str, parameter.since))
            problems.append(FieldViolation(f"{path}.{name}", f"needs Redis {since} or later"))
        elif parameter.cluster_only and not sharded:
            problems.append(FieldViolation(f"{path}.{name}", "applies to sharded clusters only"))
    return problems


def check_buffer(limits: dict[str, int], memory_bytes: int, path: str) -> list[FieldViolation]:
    """A client output buffer limit (``_buffer``'s dict): neither size above the host's
    ``memory_bytes`` (one slow client must not take more than the host has), neither negative,
    and the soft limit no larger than a non-zero hard limit (Redis would never apply it)."""
    problems = []
    for key, field in (("hardLimit", "hard_limit"), ("softLimit", "soft_limit")):
        if not 0 <= limits[key] <= memory_bytes:
            problems.append(
                FieldViolation(f"{path}.{field}", f"must be in 0-{memory_bytes} (bytes: the host's memory)")
            )
    if not 0 <= limits["softSeconds"] <= INT32_MAX:
        problems.append(FieldViolation(f"{path}.soft_seconds", f"must be in 0-{INT32_MAX}"))
    if not problems and limits["hardLimit"] and limits["softLimit"] > limits["hardLimit"]:
        problems.append(FieldViolation(f"{path}.soft_limit", "must not exceed hard_limit"))
    return problems


Directive = tuple[str, str]


def directives(
    values: dict[str, Any], memory_bytes: int, cores: int, version: tuple[int, int], sharded: bool
) -> list[Directive]:
    """``redis.conf`` lines for the effective ``values`` on a host with ``memory_bytes`` of RAM."""
    lines: list[Directive] = []
    for parameter in PARAMETERS:
        if parameter.directive is None or parameter.since > version:
            continue
        if parameter.cluster_only and not sharded:
            continue
        render = _RENDER.get(parameter.field, _plain)
        lines.append((parameter.directive, render(values[parameter.field], memory_bytes, cores)))
    return lines


def _plain(value: Any, memory_bytes: int, cores: int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _percent_of_memory(value: Any, memory_bytes: int, cores: int) -> str:
    return str(memory_bytes * int(value) // 100)


def _buffer_line(kind: str) -> Callable[[Any, int, int], str]:
    def render(value: Any, memory_bytes: int, cores: int) -> str:
        return f"{kind} {value['hardLimit']} {value['softLimit']} {value['softSeconds']}"

    return render


_RENDER: dict[str, Callable[[Any, int, int], str]] = {
    "maxmemory_policy": lambda value, _m, _c: str(value).lower().replace("_", "-"),
    "maxmemory_percent": _percent_of_memory,
    "repl_backlog_size_percent": _percent_of_memory,
    "client_output_buffer_limit_pubsub": _buffer_line("pubsub"),
    "client_output_buffer_limit_normal": _buffer_line("normal"),
    "io_threads_allowed": lambda value, _m, cores: str(max(1, min(cores, 8)) if value else 1),
}


def restart_needed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether going from ``before`` to ``after`` changes a parameter Redis reads only at start."""
    return any(before.get(p.field) != after.get(p.field) for p in PARAMETERS if not p.live and p.directive)
