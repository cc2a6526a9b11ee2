"""The settings catalogue: every setting declared once, in ``Settings``, and read from there.

Each field of ``Settings`` is one setting: its name, type and default are the field's, and
``setting(...)`` adds its description, whether it has a command-line flag, older environment
names it also answers to, a lower bound, and whether it is a secret. Everything else is
derived from that declaration:

- ``SETTINGS``: one ``SettingSpec`` per setting, with its flag (``rest_addr`` is
  ``--rest-addr``) and environment variable (``MREDIS_REST_ADDR``); ``cli.py`` makes the
  argparse options from it;
- ``load_settings``: each setting from its default, then an optional TOML file
  (``--config`` / ``MREDIS_CONFIG``), then the environment, then the flags, later winning;
- the README's settings table (``settings_table.py``; ``make readme`` rewrites it, and a
  unit test fails when it drifts).

Secrets (tokens, keys) have no flag (a command line is visible to every user of the machine),
are left out of ``repr``, and show no value in the table.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, TypeVar, Unpack, overload

from managed_redis.errors import InternalError

T = TypeVar("T")


def default_data_dir() -> Path:
    """The per-user data directory: ``$XDG_DATA_HOME/managed-redis`` or ``~/.local/share/...``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "managed-redis"


class Declared(TypedDict, total=False):
    """What ``setting(...)`` says of a setting besides its default and help (all optional)."""

    flag: bool  # whether ``mredis serve``/``worker`` take it as --name-with-dashes (default yes)
    aliases: tuple[str, ...]  # environment names read, in order, when MREDIS_<NAME> is unset
    secret: bool  # off the command line, out of repr, its value out of the README
    above: float  # a number it must exceed
    default_text: str  # the README's default column, where the value alone says too little


_DECLARED = "managed_redis.setting"
_HELP = "managed_redis.setting.help"


@overload
def setting(default: T, help: str, **declared: Unpack[Declared]) -> T: ...


@overload
def setting(*, factory: Callable[[], T], help: str, **declared: Unpack[Declared]) -> T: ...


def setting(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    factory: Any = dataclasses.MISSING,
    **declared: Unpack[Declared],
) -> Any:
    """Declare one field of ``Settings`` as a setting.

    ``default`` (or ``factory``, called each time a ``Settings`` is made) is its value when no
    source sets it; ``help`` one phrase for ``--help`` and the README; ``declared`` the rest
    (see ``Declared``). Returns a ``dataclasses.Field`` (typed as the value, for the type
    checker).
    """
    secret = declared.get("secret", False)
    return dataclasses.field(
        default=default,
        default_factory=factory,
        repr=not secret,
        metadata={_DECLARED: declared, _HELP: help},
    )


@dataclass(frozen=True)
class Settings:
    """Every setting of ``mredis serve`` and ``mredis worker``: built once, passed down."""

    # setting() is this class's field specifier: a dataclasses.Field, not a default made once.
    data_dir: Path = setting(  # noqa: RUF009
        factory=default_data_dir,
        help="where the metadata database, TLS files, tokens and the hosts' files live",
        default_text="`$XDG_DATA_HOME/managed-redis` or `~/.local/share/managed-redis`",
    )
    rest_addr: str = setting("127.0.0.1:9080", "host:port of the REST listener")
    grpc_addr: str = setting("127.0.0.1:9443", "host:port of the gRPC listener (TLS, certificate from the service CA)")
    grpc_advertise_addr: str | None = setting(
        None, "the gRPC address endpoint discovery returns", default_text="the gRPC listen address"
    )
    database_url: str | None = setting(
        None,
        "SQLAlchemy URL of the metadata store; `postgresql://user@host/db` works the same",
        default_text="SQLite at `<data-dir>/mredis.db`",
    )
    host_network: ipaddress.IPv4Network = setting(  # noqa: RUF009
        ipaddress.IPv4Network("127.20.0.0/16"), "the loopback range Redis hosts get their addresses from"
    )
    admin_token: str | None = setting(
        None,
        "the bootstrap admin token: admin on every folder",
        secret=True,
        default_text="generated on first start into `<data-dir>/admin-token` (mode 0600)",
    )
    default_version: str | None = setting(
        None,
        "the version a cluster gets when its request names none (`7.0`, `8.1-valkey`)",
        default_text="the newest version this machine runs that has TLS",
    )
    redis_binaries: tuple[str, ...] = setting(
        (), "extra `redis-server`/`valkey-server` binaries besides the one on PATH, `:`-separated"
    )
    backup_store: str | None = setting(
        None, "where backups go: `file://DIR` or `s3://bucket/prefix`", default_text="`file://<data-dir>/backups`"
    )
    s3_endpoint_url: str | None = setting(
        None,
        "URL of the S3-compatible service an `s3://` backup store is in",
        aliases=("AWS_ENDPOINT_URL",),
        default_text="AWS S3 of the region",
    )
    s3_region: str = setting("us-east-1", "region of the S3 bucket", aliases=("AWS_REGION",))
    s3_access_key_id: str | None = setting(
        None,
        "access key id for the S3 bucket",
        flag=False,
        aliases=("AWS_ACCESS_KEY_ID",),
        default_text="boto3's own credential chain (`~/.aws/credentials`, an instance role, ...)",
    )
    s3_secret_access_key: str | None = setting(
        None,
        "secret access key for the S3 bucket",
        secret=True,
        aliases=("AWS_SECRET_ACCESS_KEY",),
        default_text="from boto3's credential chain, with the access key id",
    )
    s3_session_token: str | None = setting(
        None, "session token of temporary S3 credentials", secret=True, aliases=("AWS_SESSION_TOKEN",)
    )
    scheduler_period_s: float = setting(30.0, "seconds between looks for due backup windows and expired backups")
    maintenance_period_s: float = setting(
        60.0, "seconds between looks for clusters to plan maintenance for and maintenances due to start"
    )
    maintenance_notice_s: float = setting(
        86400.0,
        "seconds of notice a planned maintenance gets before it may start (the cloud gives days, api.md "
        "§10.3; a self-hosted patch release is the operator's own, so one day to see and move it)",
    )
    secret_key: str | None = setting(
        None,
        "the Fernet key sealing stored passwords",
        secret=True,
        default_text="generated into `<data-dir>/secret.key`",
    )
    sentinel_down_after_s: float = setting(
        5.0, "seconds before Sentinel deems a master down (its `down-after-milliseconds`)"
    )
    cluster_node_timeout_s: float = setting(5.0, "Redis Cluster's `cluster-node-timeout`, in seconds")
    migrate_big_key_mib: float = setting(
        8.0,
        "a key at least this large (`MEMORY USAGE`, MiB) moves alone in a slot move, every node's "
        "cluster-node-timeout raised to outlast it and set back after",
        flag=False,
    )
    migrate_rate_mib_s: float = setting(
        50.0,
        "MiB one `MIGRATE` is assumed to move a second (measured here: ~150), i.e. how long a key's move "
        "blocks its shard",
        flag=False,
    )
    migrate_max_block_s: float = setting(
        120.0,
        "a key whose move would block its shard longer (seconds) is not moved: its slot stays "
        "(Rebalance gives another slot instead; DeleteShard is refused naming the key)",
        flag=False,
    )
    supervisor_period_s: float = setting(1.0, "seconds between the supervisor's checks of every host")
    metrics_period_s: float = setting(
        12.0,
        "seconds between the supervisor's reads of each host's load (`INFO` server, clients, memory, stats, "
        "keyspace) that `GET /metrics` shows",
    )
    fence_after_s: float | None = setting(
        None,
        "seconds a silent master (alive, not answering, unheard by its replicas) is given before it is "
        "fenced and a replica promoted; by default it acts before Sentinel or Redis Cluster do",
        default_text="0.6 of the shorter of down-after and node timeout",
    )
    min_replicas_max_lag_s: int = setting(
        5,
        "seconds an isolated master (with a replica linked) keeps taking writes after they stop "
        "acknowledging: the bound on what it can take and then lose",
    )
    machine_memory_gib: float | None = setting(
        None,
        "GiB of RAM the hosts' presets are counted against",
        above=0,
        default_text="`MemTotal` of `/proc/meminfo`",
    )
    memory_overcommit: float = setting(
        4.0,
        "how many times the machine's RAM hosts may be promised in all (4 lets a 16-32 GiB development "
        "machine run 3 shards x 2 hosts of hm1.nano; 1 promises no more than it has). A cluster that "
        "does not fit is refused with RESOURCE_EXHAUSTED saying how much memory is short",
        above=0,
    )
    worker_threads: int = setting(4, "operations run at once")
    lease_s: float = setting(30.0, "seconds a worker's claim on an operation lasts unrenewed")
    worker_poll_s: float = setting(0.5, "seconds between an idle worker's looks for operations")
    embedded_worker: bool = setting(
        True, "run operations inside `serve`; `false` leaves them to `mredis worker` processes"
    )
    log_level: str = setting("INFO", "DEBUG, INFO, WARNING or ERROR")
    host_log_rotate_mib: float = setting(
        16.0, "a host's redis.log or sentinel.log is rotated (renamed, nothing lost) once this large (MiB)", above=0
    )
    host_log_rotate_h: float = setting(
        24.0, "a host's redis.log or sentinel.log is rotated once its first line is this many hours old", above=0
    )
    host_log_keep_days: float = setting(
        45.0, "rotated host log files are deleted when their last line is older (days)", above=0
    )
    host_log_keep_mib: float = setting(
        64.0, "rotated files of one host log are deleted, oldest first, past this size in all (MiB)", above=0
    )
    host_log_period_s: float = setting(60.0, "seconds between looks at host log files to rotate or delete", above=0)
    engine: str = setting(
        "local",
        "where Redis hosts run: `local` (processes on this machine) or `kubernetes` (pods, through `KUBECONFIG` "
        "or the pod's service account; README, On Kubernetes)",
    )
    kubernetes_namespace: str | None = setting(
        None, "the one namespace every cluster's objects go in", default_text="`mredis-<cluster id>`, one per cluster"
    )
    kubernetes_storage_class: str | None = setting(
        None, "storage class of the Redis pods' data volumes", default_text="the Kubernetes cluster's default"
    )
    kubernetes_image: str | None = setting(
        None,
        "image of the Redis pods; `{version}` (`7.0.15`) and `{flavor}` (`redis`, `valkey`) are filled in",
        default_text="`docker.io/library/redis:{version}`, Valkey `docker.io/valkey/valkey:{version}`",
    )
    kubernetes_ready_timeout_s: float = setting(
        300.0, "seconds a new Redis pod may take to run (scheduling, volume, image pull)", above=0
    )

    @property
    def effective_fence_after_s(self) -> float:
        """``fence_after_s``, or 0.6 of the shorter failure-detection time (seconds)."""
        if self.fence_after_s is not None:
            return self.fence_after_s
        return 0.6 * min(self.sentinel_down_after_s, self.cluster_node_timeout_s)

    @property
    def effective_database_url(self) -> str:
        """``database_url``, or SQLite at ``<data_dir>/mredis.db``."""
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
        """``backup_store``, or ``file://<data_dir>/backups``."""
        return self.backup_store or f"file://{self.data_dir / 'backups'}"

    @property
    def hosts_dir(self) -> Path:
        return self.data_dir / "hosts"


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected a boolean, got {text!r}")


def _parse_paths(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(os.pathsep) if part)


# How text (an environment variable, a flag) becomes each type a setting may be declared with.
_PARSERS: dict[object, Callable[[str], object]] = {
    str: str,
    int: int,
    float: float,
    bool: _parse_bool,
    Path: Path,
    ipaddress.IPv4Network: ipaddress.IPv4Network,
    tuple[str, ...]: _parse_paths,
}


@dataclass(frozen=True)
class SettingSpec:
    """One setting as every source spells it, read off its declaration in ``Settings``."""

    name: str
    kind: object  # the declared type without None, e.g. ``float`` for ``float | None``
    help: str
    env: str  # MREDIS_<NAME>
    aliases: tuple[str, ...]  # read in order when ``env`` is unset
    flag: str | None  # --name-with-dashes, or None
    secret: bool
    above: float | None
    default: object  # the value, None where a factory makes it
    default_text: str | None

    @property
    def env_names(self) -> tuple[str, ...]:
        """The environment variables read, the first one set winning: ``env``, then aliases."""
        return (self.env, *self.aliases)

    def parse(self, text: str) -> object:
        """The value ``text`` spells; raises ValueError saying what was expected."""
        value = _PARSERS[self.kind](text)
        if self.above is not None and not (isinstance(value, int | float) and value > self.above):
            raise ValueError(f"expected a number above {self.above:g}, got {text!r}")
        return value


def _spec(field: dataclasses.Field[Any], annotation: object) -> SettingSpec:
    declared: Declared = field.metadata[_DECLARED]
    secret = declared.get("secret", False)
    if isinstance(annotation, types.UnionType):
        (annotation,) = (arg for arg in typing.get_args(annotation) if arg is not type(None))
    return SettingSpec(
        name=field.name,
        kind=annotation,
        help=field.metadata[_HELP],
        env=f"MREDIS_{field.name.upper()}",
        aliases=declared.get("aliases", ()),
        flag=f"--{field.name.replace('_', '-')}" if declared.get("flag", True) and not secret else None,
        secret=secret,
        above=declared.get("above"),
        default=None if field.default is dataclasses.MISSING else field.default,
        default_text=declared.get("default_text"),
    )


def _catalogue() -> tuple[SettingSpec, ...]:
    hints = typing.get_type_hints(Settings)
    return tuple(_spec(field, hints[field.name]) for field in dataclasses.fields(Settings))


SETTINGS: tuple[SettingSpec, ...] = _catalogue()


class SettingsError(InternalError, ValueError):
    """A setting could not be read; the message names the setting and its source."""


def load_settings(
    flags: Mapping[str, str | None] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Resolve every setting from its default, the TOML file, the environment and the flags.

    ``flags`` maps setting names (``"rest_addr"``) to the text given on the command line, None
    where not given; ``env`` is ``os.environ`` unless given (an empty value counts as unset);
    ``config_file`` (else ``MREDIS_CONFIG``) a TOML file of ``name = value`` lines.
    Raises SettingsError naming the source of a value that does not parse, an unknown name in
    the file, or a file that cannot be read.
    """
    env = os.environ if env is None else env
    flags = flags or {}
    if config_file is None and env.get("MREDIS_CONFIG"):
        config_file = Path(env["MREDIS_CONFIG"])
    from_file = _read_config_file(config_file) if config_file else {}
    unknown = set(from_file) - {spec.name for spec in SETTINGS}
    if unknown:
        raise SettingsError(f"{config_file}: unknown settings {sorted(unknown)}")

    values: dict[str, Any] = {}
    for spec in SETTINGS:
        sources: list[tuple[str, Any]] = []
        if spec.name in from_file:
            sources.append((f"{config_file}: {spec.name}", from_file[spec.name]))
        env_name = next((name for name in spec.env_names if env.get(name)), None)
        if env_name:
            sources.append((env_name, env[env_name]))
        if spec.flag and flags.get(spec.name) is not None:
            sources.append((spec.flag, flags[spec.name]))
        if sources:
            origin, raw = sources[-1]
            values[spec.name] = _parse(spec, origin, raw)
    return dataclasses.replace(Settings(), **values)


def _parse(spec: SettingSpec, origin: str, raw: Any) -> Any:
    if isinstance(raw, list) and spec.kind == tuple[str, ...]:
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
