"""The one typed settings object, built once by the CLI and passed down explicitly.

Each setting is resolved in this order, later sources winning: its default, then an
optional TOML file (``--config`` / ``MREDIS_CONFIG``), then its ``MREDIS_*`` environment
variable, then its command-line flag. ``SETTINGS`` below is the whole catalogue.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def default_data_dir() -> Path:
    """The per-user data directory: ``$XDG_DATA_HOME/managed-redis`` or ``~/.local/share/...``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "managed-redis"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    rest_addr: str = "127.0.0.1:9080"
    grpc_addr: str = "127.0.0.1:9443"
    # The gRPC address endpoint discovery hands out; by default the address gRPC listens on.
    grpc_advertise_addr: str | None = None
    # None means SQLite at <data_dir>/mredis.db.
    database_url: str | None = None
    host_network: ipaddress.IPv4Network = field(default_factory=lambda: ipaddress.IPv4Network("127.20.0.0/16"))
    # The bootstrap admin token; None means "read or create <data_dir>/admin-token".
    admin_token: str | None = None
    # Extra redis-server (or valkey-server) binaries besides the one on PATH.
    redis_binaries: tuple[str, ...] = ()
    # Where backups go: file://DIR or s3://bucket/prefix; None means file://<data_dir>/backups.
    backup_store: str | None = None
    # How often the scheduler looks for due backup windows and expired backups.
    scheduler_period_s: float = 30.0
    # The key sealing stored passwords; None means "read or create <data_dir>/secret.key".
    secret_key: str | None = None
    # Sentinel's down-after-milliseconds and Redis Cluster's cluster-node-timeout, in seconds.
    sentinel_down_after_s: float = 5.0
    cluster_node_timeout_s: float = 5.0
    # Slot moves: a key of this many MiB or more moves alone under a longer node timeout; a
    # MIGRATE is assumed to move this many MiB a second; a key whose move would block its
    # shard longer than migrate_max_block_s stays where it is (engine/slot_moves.py).
    migrate_big_key_mib: float = 8.0
    migrate_rate_mib_s: float = 50.0
    migrate_max_block_s: float = 120.0
    # How often the supervisor checks every host and restarts what died.
    supervisor_period_s: float = 1.0
    # How long a master may stay silent (alive, not answering, unheard by its replicas) before
    # the supervisor fences it and promotes a replica; None: 0.6 of the failure-detection time
    # (Sentinel's down-after, Redis Cluster's node timeout), so it acts before they do.
    fence_after_s: float | None = None
    # An isolated master refuses writes this long after its replicas stop acknowledging
    # (while it has 2 or more linked): the bound on what it can take and then lose.
    min_replicas_max_lag_s: int = 5
    # The memory hosts may be promised (admission, services/capacity.py): this machine's RAM
    # (None: MemTotal of /proc/meminfo) times the overcommit ratio. 4 lets a development
    # machine of 16-32 GiB run the layouts of the docs (3 shards x 2 hosts of 8 GiB); 1
    # promises no more than the machine has.
    machine_memory_gib: float | None = None
    memory_overcommit: float = 4.0
    worker_threads: int = 4
    lease_s: float = 30.0
    worker_poll_s: float = 0.5
    # Run operations inside `serve`; off when only separate `mredis worker` processes should.
    embedded_worker: bool = True
    log_level: str = "INFO"

    @property
    def effective_fence_after_s(self) -> float:
        if self.fence_after_s is not None:
            return self.fence_after_s
        return 0.6 * min(self.sentinel_down_after_s, self.cluster_node_timeout_s)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'mredis.db'}"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def admin_token_path(self) -> Path:
        return self.data_dir / "admin-token"

    @property
    def tokens_path(self) -> Path:
        return self.data_dir / "tokens.json"

    @property
    def effective_backup_store(self) -> str:
        return self.backup_store or f"file://{self.data_dir / 'backups'}"

    @property
    def hosts_dir(self) -> Path:
        return self.data_dir / "hosts"


@dataclass(frozen=True)
class SettingSpec:
    """How one setting is spelled in each source and parsed from text."""

    name: str
    env: str
    flag: str | None
    parse: Callable[[str], Any]
    help: str


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected a boolean, got {text!r}")


def _parse_positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(f"expected a number above 0, got {text!r}")
    return value


def _parse_paths(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(os.pathsep) if part)


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("data_dir", "MREDIS_DATA_DIR", "--data-dir", Path, "where state, TLS and hosts live"),
    SettingSpec("rest_addr", "MREDIS_REST_ADDR", "--rest-addr", str, "host:port of the REST listener"),
    SettingSpec("grpc_addr", "MREDIS_GRPC_ADDR", "--grpc-addr", str, "host:port of the gRPC+TLS listener"),
    SettingSpec(
        "grpc_advertise_addr",
        "MREDIS_GRPC_ADVERTISE_ADDR",
        "--grpc-advertise-addr",
        str,
        "the gRPC address endpoint discovery returns (default: the listen address)",
    ),
    SettingSpec("database_url", "MREDIS_DATABASE_URL", "--database-url", str, "SQLAlchemy URL of the metadata store"),
    SettingSpec(
        "host_network",
        "MREDIS_HOST_NETWORK",
        "--host-network",
        ipaddress.IPv4Network,
        "loopback range Redis hosts get their addresses from",
    ),
    SettingSpec("admin_token", "MREDIS_ADMIN_TOKEN", None, str, "bootstrap admin token"),
    SettingSpec(
        "redis_binaries",
        "MREDIS_REDIS_BINARIES",
        "--redis-binaries",
        _parse_paths,
        "extra redis-server binaries, separated by ':'",
    ),
    SettingSpec("backup_store", "MREDIS_BACKUP_STORE", "--backup-store", str, "file://DIR or s3://bucket/prefix"),
    SettingSpec(
        "scheduler_period_s",
        "MREDIS_SCHEDULER_PERIOD_S",
        "--scheduler-period-s",
        float,
        "seconds between looks for due backups and expired ones",
    ),
    SettingSpec("secret_key", "MREDIS_SECRET_KEY", None, str, "key sealing stored passwords (Fernet)"),
    SettingSpec(
        "sentinel_down_after_s",
        "MREDIS_SENTINEL_DOWN_AFTER_S",
        "--sentinel-down-after-s",
        float,
        "seconds before Sentinel deems a master down",
    ),
    SettingSpec(
        "cluster_node_timeout_s",
        "MREDIS_CLUSTER_NODE_TIMEOUT_S",
        "--cluster-node-timeout-s",
        float,
        "Redis Cluster node timeout in seconds",
    ),
    SettingSpec("migrate_big_key_mib", "MREDIS_MIGRATE_BIG_KEY_MIB", None, float, "MiB from which a key moves alone"),
    SettingSpec("migrate_rate_mib_s", "MREDIS_MIGRATE_RATE_MIB_S", None, float, "MiB a MIGRATE moves a second"),
    SettingSpec("migrate_max_block_s", "MREDIS_MIGRATE_MAX_BLOCK_S", None, float, "longest a key's move may block"),
    SettingSpec(
        "supervisor_period_s",
        "MREDIS_SUPERVISOR_PERIOD_S",
        "--supervisor-period-s",
        float,
        "seconds between the supervisor's checks of every host",
    ),
    SettingSpec(
        "fence_after_s",
        "MREDIS_FENCE_AFTER_S",
        "--fence-after-s",
        float,
        "seconds a silent master is given before it is fenced and replaced (default: 0.6 of down-after)",
    ),
    SettingSpec(
        "min_replicas_max_lag_s",
        "MREDIS_MIN_REPLICAS_MAX_LAG_S",
        "--min-replicas-max-lag-s",
        int,
        "seconds an isolated master keeps taking writes once its replicas stop acknowledging",
    ),
    SettingSpec(
        "machine_memory_gib",
        "MREDIS_MACHINE_MEMORY_GIB",
        "--machine-memory-gib",
        _parse_positive,
        "GiB of RAM hosts may be promised before overcommit (default: MemTotal of /proc/meminfo)",
    ),
    SettingSpec(
        "memory_overcommit",
        "MREDIS_MEMORY_OVERCOMMIT",
        "--memory-overcommit",
        _parse_positive,
        "how many times over the machine's memory hosts may be promised (1: never more than it has)",
    ),
    SettingSpec("worker_threads", "MREDIS_WORKER_THREADS", "--worker-threads", int, "operations run at once"),
    SettingSpec("lease_s", "MREDIS_LEASE_S", "--lease-s", float, "seconds a worker's claim lasts unrenewed"),
    SettingSpec("worker_poll_s", "MREDIS_WORKER_POLL_S", "--worker-poll-s", float, "idle worker poll period"),
    SettingSpec(
        "embedded_worker",
        "MREDIS_EMBEDDED_WORKER",
        "--embedded-worker",
        _parse_bool,
        "run operations inside serve (true/false)",
    ),
    SettingSpec("log_level", "MREDIS_LOG_LEVEL", "--log-level", str, "DEBUG, INFO, WARNING or ERROR"),
)


class SettingsError(ValueError):
    """A setting could not be read; the message names the setting and its source."""


def load_settings(
    flags: Mapping[str, str | None] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Resolve every setting from defaults, the TOML file, the environment and the flags."""
    env = os.environ if env is None else env
    flags = flags or {}
    if config_file is None and env.get("MREDIS_CONFIG"):
        config_file = Path(env["MREDIS_CONFIG"])
    from_file = _read_config_file(config_file) if config_file else {}

    values: dict[str, Any] = {}
    for spec in SETTINGS:
        sources: list[tuple[str, Any]] = []
        if spec.name in from_file:
            sources.append((f"{config_file}: {spec.name}", from_file[spec.name]))
        if env.get(spec.env):
            sources.append((spec.env, env[spec.env]))
        if spec.flag and flags.get(spec.name) is not None:
            sources.append((spec.flag, flags[spec.name]))
        if sources:
            origin, raw = sources[-1]
            values[spec.name] = _parse(spec, origin, raw)
    unknown = set(from_file) - {spec.name for spec in SETTINGS}
    if unknown:
        raise SettingsError(f"{config_file}: unknown settings {sorted(unknown)}")
    return dataclasses.replace(Settings(), **values)


def _parse(spec: SettingSpec, origin: str, raw: Any) -> Any:
    if isinstance(raw, list) and spec.name == "redis_binaries":
        return tuple(str(item) for item in raw)
    try:
        return spec.parse(str(raw) if not isinstance(raw, bool) else str(raw).lower())
    except ValueError as exc:
        raise SettingsError(f"{origin}: {exc}") from None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc}") from None
