"""Admission by memory: hosts are added only when the machine can hold what they were promised.

Each host of each cluster is promised its preset's memory (``ResourcePreset.memory``, api.md
§7.1; Redis may fill ``maxmemory_percent`` of it). The machine offers its memory (``MemTotal``
of ``/proc/meminfo``, or the ``machine_memory_gib`` setting) times ``memory_overcommit``.
Create, Restore, AddHosts, AddShard and a preset change in Update call ``admit`` inside the
transaction that writes their rows, and admissions queue (``store.locks.serialize``) so two
of them never both take the last free memory;
the refusal is RESOURCE_EXHAUSTED saying what is short:
``memory: needs 24 GiB for 3 hosts of hm1.nano, 8 GiB of 94 GiB free ...``.

What counts: every host row (stopped clusters and hosts being added or removed included,
since they may come back or are still running), each at its cluster's preset, or at the
preset an Update in flight moves it to when that is larger.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.catalog.presets import GIB, PRESETS_BY_ID, Preset
from managed_redis.domain.cluster_spec import config_spec_of
from managed_redis.errors import ResourceExhausted
from managed_redis.operations import registry
from managed_redis.settings import Settings
from managed_redis.store import clusters as cluster_store
from managed_redis.store import locks
from managed_redis.store import operations as op_store
from managed_redis.store.clusters import ClusterRecord

MEMINFO = Path("/proc/meminfo")


@dataclass(frozen=True)
class MachineMemory:
    """What the machine offers: ``total_bytes`` of RAM promised up to ``overcommit`` times."""

    total_bytes: int
    overcommit: float

    @property
    def capacity_bytes(self) -> int:
        return int(self.total_bytes * self.overcommit)

    def holds(self, preset: Preset) -> bool:
        """Whether one host of ``preset`` fits an empty machine."""
        return preset.memory <= self.capacity_bytes


def mem_total_bytes(meminfo: Path = MEMINFO) -> int:
    """``MemTotal`` of ``/proc/meminfo``, in bytes; where there is none (not Linux), the
    physical pages the system reports. Raises OSError or ValueError if neither is readable."""
    try:
        text = meminfo.read_text()
    except FileNotFoundError:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == "MemTotal" and value.split()[1:] == ["kB"]:
            return int(value.split()[0]) * 1024
    raise ValueError(f"no MemTotal in kB in {meminfo}")


def machine_memory(settings: Settings) -> MachineMemory:
    """The machine's memory from the settings, or from ``/proc/meminfo`` when none is set."""
    gib_set = settings.machine_memory_gib
    total = int(gib_set * GIB) if gib_set is not None else mem_total_bytes()
    return MachineMemory(total, settings.memory_overcommit)


def preset_of(record: ClusterRecord) -> Preset | None:
    return PRESETS_BY_ID.get(config_spec_of(record).resources.resource_preset_id)


def _pending_preset(conn: Connection, record: ClusterRecord) -> Preset | None:
    """The preset an Update in flight on ``record`` is moving it to, if any."""
    if record.active_operation_id is None:
        return None
    operation = op_store.get(conn, record.active_operation_id)
    if operation is None or operation.kind != registry.UPDATE_CLUSTER.name or operation.done:
        return None
    state = service_pb.UpdateClusterRequest.FromString(operation.request)
    return PRESETS_BY_ID.get(state.config_spec.resources.resource_preset_id)


def promised_bytes(conn: Connection) -> int:
    """The memory promised to every host of every cluster, in bytes."""
    records = cluster_store.list_all(conn)
    hosts = cluster_store.hosts_of(conn, [record.id for record in records])
    total = 0
    for record in records:
        memories = [p.memory for p in (preset_of(record), _pending_preset(conn, record)) if p is not None]
        total += max(memories, default=0) * len(hosts[record.id])
    return total


def gib(size_bytes: int) -> str:
    """``size_bytes`` in GiB for a message: ``24``, ``23.5``."""
    return f"{size_bytes / GIB:.1f}".removesuffix(".0")


def admit(conn: Connection, settings: Settings, needed_bytes: int, what: str) -> None:
    """Nothing, if the machine can also hold ``needed_bytes`` more (for ``what``: "3 hosts of
    hm1.nano"); else ResourceExhausted naming the memory that is short."""
    if needed_bytes <= 0:
        return
    locks.serialize(conn, "admission")
    machine = machine_memory(settings)
    free = max(0, machine.capacity_bytes - promised_bytes(conn))
    if needed_bytes <= free:
        return
    raise ResourceExhausted(
        f"memory: needs {gib(needed_bytes)} GiB for {what}, {gib(free)} GiB of {gib(machine.capacity_bytes)} GiB "
        f"free (this machine's {gib(machine.total_bytes)} GiB x memory_overcommit {machine.overcommit:g}); "
        "delete a cluster, choose a smaller preset, or raise memory_overcommit"
    )


def hosts_text(count: int, preset: Preset) -> str:
    return f"{count} host{'s' if count != 1 else ''} of {preset.id}"


def admit_hosts(conn: Connection, settings: Settings, preset: Preset, count: int) -> None:
    """Admit ``count`` new hosts of ``preset`` (Create, Restore, AddHosts, AddShard)."""
    admit(conn, settings, preset.memory * count, hosts_text(count, preset))


def admit_preset_change(conn: Connection, settings: Settings, record: ClusterRecord, preset_id: str) -> None:
    """Admit moving every host of ``record`` to the preset ``preset_id`` (Update): only the
    growth needs room, and a smaller preset always fits."""
    old, new = preset_of(record), PRESETS_BY_ID.get(preset_id)
    if old is None or new is None or new.memory <= old.memory:
        return
    count = len(cluster_store.list_hosts(conn, record.id))
    admit(conn, settings, (new.memory - old.memory) * count, f"{hosts_text(count, new)} (from {old.id})")
