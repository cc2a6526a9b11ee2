"""The per-Redis-host families of ``GET /metrics``: which samples each host has, and two ways
to write them.

The names, types and units are those of the common Redis exporter
(oliver006/redis_exporter), so its dashboards and alerts work unchanged; every series has
the labels ``cluster_id``, ``cluster_name``, ``folder_id``, ``shard``, ``host``, ``role``
(``master``, ``replica``, ``unknown``), some one or more of their own (``FAMILIES``)::

    redis_up                                  gauge    the host's Redis answered the last look (fresh)
    redis_instance_info{redis_version}        gauge    1
    redis_uptime_in_seconds, redis_connected_clients, redis_blocked_clients,
    redis_memory_used_bytes, redis_memory_used_rss_bytes, redis_memory_max_bytes,
    redis_connected_slaves, redis_master_repl_offset                            gauge
    redis_commands_processed_total, redis_connections_received_total,
    redis_net_input_bytes_total, redis_net_output_bytes_total,
    redis_keyspace_hits_total, redis_keyspace_misses_total,
    redis_evicted_keys_total, redis_expired_keys_total,
    redis_rejected_connections_total                                            counter
    redis_slave_repl_offset, redis_master_link_up,
    redis_master_last_io_seconds_ago{master_host, master_port}          gauge (replicas)
    redis_connected_slave_offset_bytes, redis_connected_slave_lag_seconds
                                   {slave_ip, slave_port, slave_state}   gauge (masters)
    redis_db_keys, redis_db_keys_expiring, redis_db_avg_ttl_seconds{db}  gauge

The load series come from the host's last stats read (``engine.stats``); a host that is not
up has ``redis_up 0`` and none of them.

``host_samples`` says what a host's samples are; ``redis_families`` makes them
``prometheus_client`` families, ``host_text`` writes one host's in Prometheus' text format
(0.0.4) directly, a string per family (``redis_text``: several hosts' families). The page
uses the writer: 200 clusters are ~16,000 series, and ``prometheus_client.generate_latest``
spends ~35 µs on each (it checks and escapes every label of every sample), 600 ms a
scrape; the writer escapes each host's labels once per host (~10 µs a host), and the page
keeps a host's strings until its load is read anew (``cluster_blocks.py``).
A unit test checks that both parse to the same samples.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from managed_redis.engine.stats import RedisStats

HOST_LABELS = ("cluster_id", "cluster_name", "folder_id", "shard", "host", "role")


@dataclass(frozen=True)
class Family:
    name: str
    kind: str  # "gauge" | "counter"
    help: str
    # Labels of its own, after HOST_LABELS.
    extra: tuple[str, ...] = ()
    # The RedisStats number it shows, for a plain number.
    attr: str = ""


_MASTER = ("master_host", "master_port")
_SLAVE = ("slave_ip", "slave_port", "slave_state")
UP = Family("redis_up", "gauge", "Whether the host's Redis answered its last look")
INFO = Family("redis_instance_info", "gauge", "The host's server version", ("redis_version",))
NUMBERS = (
    Family("redis_uptime_in_seconds", "gauge", "Seconds since the Redis process started", attr="uptime_s"),
    Family("redis_connected_clients", "gauge", "Client connections (replicas aside)", attr="connected_clients"),
    Family("redis_blocked_clients", "gauge", "Clients waiting in a blocking command", attr="blocked_clients"),
    Family("redis_memory_used_bytes", "gauge", "Bytes allocated by Redis (used_memory)", attr="used_memory_bytes"),
    Family("redis_memory_used_rss_bytes", "gauge", "Resident set size of the process", attr="used_memory_rss_bytes"),
    Family("redis_memory_max_bytes", "gauge", "The maxmemory setting (0: no limit)", attr="maxmemory_bytes"),
    Family("redis_connected_slaves", "gauge", "Replicas connected to this host", attr="connected_slaves"),
    Family("redis_master_repl_offset", "gauge", "This host's replication offset", attr="master_repl_offset"),
    Family("redis_commands_processed_total", "counter", "Commands processed", attr="commands_processed"),
    Family("redis_connections_received_total", "counter", "Connections accepted", attr="connections_received"),
    Family("redis_net_input_bytes_total", "counter", "Bytes read from the network", attr="net_input_bytes"),
    Family("redis_net_output_bytes_total", "counter", "Bytes written to the network", attr="net_output_bytes"),
    Family("redis_keyspace_hits_total", "counter", "Successful key lookups", attr="keyspace_hits"),
    Family("redis_keyspace_misses_total", "counter", "Failed key lookups", attr="keyspace_misses"),
    Family("redis_evicted_keys_total", "counter", "Keys evicted because of maxmemory", attr="evicted_keys"),
    Family("redis_expired_keys_total", "counter", "Keys deleted as their time passed", attr="expired_keys"),
    Family("redis_rejected_connections_total", "counter", "Connections refused", attr="rejected_connections"),
)
REPLICA_OFFSET = Family("redis_slave_repl_offset", "gauge", "A replica's processed offset", _MASTER)
LINK_UP = Family("redis_master_link_up", "gauge", "Whether a replica's link to its master is up", _MASTER)
LAST_IO = Family("redis_master_last_io_seconds_ago", "gauge", "Seconds since a replica heard its master", _MASTER)
SLAVE_OFFSET = Family("redis_connected_slave_offset_bytes", "gauge", "A replica's offset as its master sees it", _SLAVE)
SLAVE_LAG = Family("redis_connected_slave_lag_seconds", "gauge", "Seconds since a replica acknowledged", _SLAVE)
DB_KEYS = Family("redis_db_keys", "gauge", "Keys in the database", ("db",))
DB_EXPIRING = Family("redis_db_keys_expiring", "gauge", "Keys with a time to live in the database", ("db",))
DB_TTL = Family("redis_db_avg_ttl_seconds", "gauge", "Average time to live of the database's keys", ("db",))
FAMILIES = (UP, INFO, *NUMBERS, REPLICA_OFFSET, LINK_UP, LAST_IO, SLAVE_OFFSET, SLAVE_LAG, DB_KEYS, DB_EXPIRING, DB_TTL)
_INDEX = {family.name: index for index, family in enumerate(FAMILIES)}


@dataclass(frozen=True)
class HostSeries:
    """One Redis host: its label values (``HOST_LABELS`` order), whether it is up, its last load."""

    labels: tuple[str, str, str, str, str, str]
    up: bool
    stats: RedisStats | None = None


# One sample: the values of the family's own labels, and the value.
HostSample = tuple[tuple[str, ...], float]
_NUMBER_INDEXES = tuple((_INDEX[family.name], family.attr) for family in NUMBERS)
_UP, _INFO, _REPLICA_OFFSET, _LINK_UP, _LAST_IO = (_INDEX[f.name] for f in (UP, INFO, REPLICA_OFFSET, LINK_UP, LAST_IO))
_SLAVE_OFFSET, _SLAVE_LAG, _DB_KEYS, _DB_EXPIRING, _DB_TTL = (
    _INDEX[f.name] for f in (SLAVE_OFFSET, SLAVE_LAG, DB_KEYS, DB_EXPIRING, DB_TTL)
)


def host_samples(host: HostSeries) -> list[tuple[int, tuple[str, ...], float]]:
    """The samples of one host: (index of its family in ``FAMILIES``, the values of the
    family's own labels, the value), ``redis_up`` first."""
    samples: list[tuple[int, tuple[str, ...], float]] = [(0, (), 1.0 if host.up else 0.0)]
    stats = host.stats
    if not host.up or stats is None:
        return samples
    samples.append((_INFO, (stats.version,), 1.0))
    for index, attr in _NUMBER_INDEXES:
        value = getattr(stats, attr)
        if value is not None:
            samples.append((index, (), value))
    master = (stats.master_host, stats.master_port)
    if stats.slave_repl_offset is not None:
        samples.append((_REPLICA_OFFSET, master, stats.slave_repl_offset))
    if stats.master_link_up is not None:
        samples.append((_LINK_UP, master, 1.0 if stats.master_link_up else 0.0))
    if stats.master_last_io_s is not None:
        samples.append((_LAST_IO, master, stats.master_last_io_s))
    for replica in stats.replicas:
        where = (replica.ip, replica.port, replica.state)
        samples.append((_SLAVE_OFFSET, where, replica.offset_bytes))
        if replica.lag_s is not None:
            samples.append((_SLAVE_LAG, where, replica.lag_s))
    for db, found in stats.databases.items():
        samples.append((_DB_KEYS, (db,), found.keys))
        samples.append((_DB_EXPIRING, (db,), found.expiring))
        if found.avg_ttl_s is not None:
            samples.append((_DB_TTL, (db,), found.avg_ttl_s))
    return samples


def redis_families(hosts: Sequence[HostSeries]) -> list[Metric]:
    """The samples of ``hosts`` as ``prometheus_client`` families (``FAMILIES`` order)."""
    families = [_family(f) for f in FAMILIES]
    for host in hosts:
        for index, values, value in host_samples(host):
            families[index].add_metric((*host.labels, *values), value)
    return list(families)


def _family(family: Family) -> GaugeMetricFamily | CounterMetricFamily:
    kind = CounterMetricFamily if family.kind == "counter" else GaugeMetricFamily
    return kind(family.name, family.help, labels=(*HOST_LABELS, *family.extra))


_NAMES = tuple(f.name for f in FAMILIES)
HEADERS = tuple(f"# HELP {f.name} {f.help}\n# TYPE {f.name} {f.kind}\n" for f in FAMILIES)


def host_text(host: HostSeries) -> tuple[str, ...]:
    """The samples of one host in Prometheus' text format (0.0.4), one string per family of
    ``FAMILIES`` (its lines there, ``""`` where it has none): the samples of
    ``host_samples`` (a unit test checks they parse the same), written family by family
    rather than sample by sample (a full page writes 600 hosts of them)."""
    heads, closed = _heads(host.labels)
    stats = host.stats
    if not host.up or stats is None:
        return (closed[0] + ("1.0\n" if host.up else "0.0\n"), *_NONE_BUT_UP)
    lines = [closed[0] + "1.0\n", f"{heads[_INFO]}{_own_labels(_INFO, (stats.version,))}1.0\n"]
    lines += [
        "" if value is None else f"{head}{value!r}\n"
        for head, value in zip(closed[_NUMBERS_FROM:_NUMBERS_TO], _NUMBER_VALUES(stats), strict=True)
    ]
    lines += [""] * (len(FAMILIES) - len(lines))
    master = _own_labels(_REPLICA_OFFSET, (stats.master_host, stats.master_port))
    if stats.slave_repl_offset is not None:
        lines[_REPLICA_OFFSET] = f"{heads[_REPLICA_OFFSET]}{master}{stats.slave_repl_offset!r}\n"
    if stats.master_link_up is not None:
        lines[_LINK_UP] = f"{heads[_LINK_UP]}{master}{1.0 if stats.master_link_up else 0.0!r}\n"
    if stats.master_last_io_s is not None:
        lines[_LAST_IO] = f"{heads[_LAST_IO]}{master}{stats.master_last_io_s!r}\n"
    for replica in stats.replicas:
        where = _own_labels(_SLAVE_OFFSET, (replica.ip, replica.port, replica.state))
        lines[_SLAVE_OFFSET] += f"{heads[_SLAVE_OFFSET]}{where}{replica.offset_bytes!r}\n"
        if replica.lag_s is not None:
            lines[_SLAVE_LAG] += f"{heads[_SLAVE_LAG]}{where}{replica.lag_s!r}\n"
    for db, found in stats.databases.items():
        labels = _own_labels(_DB_KEYS, (db,))
        lines[_DB_KEYS] += f"{heads[_DB_KEYS]}{labels}{found.keys!r}\n"
        lines[_DB_EXPIRING] += f"{heads[_DB_EXPIRING]}{labels}{found.expiring!r}\n"
        if found.avg_ttl_s is not None:
            lines[_DB_TTL] += f"{heads[_DB_TTL]}{labels}{found.avg_ttl_s!r}\n"
    return tuple(lines)


# host_text's shortcuts: the number families follow redis_up and redis_instance_info, and
# families of the same own labels (master's, a replica link's, a db's) share their text.
_NUMBERS_FROM, _NUMBERS_TO = _INDEX[NUMBERS[0].name], _INDEX[NUMBERS[-1].name] + 1
_NUMBER_VALUES = operator.attrgetter(*(family.attr for family in NUMBERS))
_NONE_BUT_UP = ("",) * (len(FAMILIES) - 1)
assert (_UP, _INFO, _NUMBERS_FROM) == (0, 1, 2) and _NUMBERS_FROM + len(NUMBERS) == _NUMBERS_TO
assert FAMILIES[_REPLICA_OFFSET].extra == LINK_UP.extra == LAST_IO.extra
assert SLAVE_OFFSET.extra == SLAVE_LAG.extra and DB_KEYS.extra == DB_EXPIRING.extra == DB_TTL.extra


@functools.lru_cache(maxsize=8192)
def _heads(labels: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Per family, the start of a line of the host with ``labels``: ``name{host labels``, and
    that closed (``name{host labels} ``). Escaped once per host, not once per line."""
    prefix = "{" + label_text(HOST_LABELS, labels)
    return tuple(name + prefix for name in _NAMES), tuple(name + prefix + "} " for name in _NAMES)


@functools.lru_cache(maxsize=4096)
def _own_labels(index: int, values: tuple[str, ...]) -> str:
    """``,name="value",...} `` of a family's own labels (the same few for every host)."""
    return "," + label_text(FAMILIES[index].extra, values) + "} "


def redis_text(hosts: Sequence[HostSeries]) -> str:
    """The samples of ``hosts`` in Prometheus' text format (0.0.4): per family its HELP and
    TYPE lines, then a line per sample, host by host."""
    texts = [host_text(host) for host in hosts]
    return "".join(header + "".join(text[index] for text in texts) for index, header in enumerate(HEADERS))


def label_text(names: Sequence[str], values: Sequence[str]) -> str:
    """``name="value",...`` as the text format writes labels (values escaped)."""
    return ",".join(f'{name}="{_escaped(value)}"' for name, value in zip(names, values, strict=True))


def _escaped(value: str) -> str:
    """A label value as the text format writes it: backslash, newline and quote escaped."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
