"""The resource preset catalogue (host classes) of api.md §7.1, the zones they run in, and
the disks each may have (api.md §7.1, §7.3).

``memory`` is RAM in bytes (GiB x 2^30). On this machine a preset sets a host's
``maxmemory`` (memory x ``maxmemory_percent``) and is what admission counts; cores are
informational. Disk sizes are in bytes; the docs' "GB" are GiB, as ``memory``'s are.
"""

from __future__ import annotations

from dataclasses import dataclass

ZONES: tuple[str, ...] = ("ru-central1-a", "ru-central1-b", "ru-central1-d", "ru-central1-e")

GIB = 1 << 30


@dataclass(frozen=True)
class Preset:
    id: str
    cores: int
    memory_gib: int
    burstable: bool = False

    @property
    def memory(self) -> int:
        return self.memory_gib * GIB


def _hm1() -> list[Preset]:
    sizes = [
        ("nano", 2, 8), ("micro", 2, 12), ("small", 2, 16),
        ("medium", 4, 24), ("large", 4, 32), ("xlarge", 4, 48), ("2xlarge", 4, 64), ("3xlarge", 4, 80),
        ("4xlarge", 8, 96), ("5xlarge", 8, 128), ("6xlarge", 8, 160), ("7xlarge", 8, 192),
        ("8xlarge", 8, 224), ("9xlarge", 8, 256),
    ]  # fmt: skip
    return [Preset(f"hm1.{size}", cores, ram) for size, cores, ram in sizes]


def _hm2() -> list[Preset]:
    sizes = [
        ("nano", 2, 8), ("micro", 2, 12), ("small", 4, 16), ("medium", 4, 24), ("large", 4, 32),
        ("xlarge", 4, 48), ("96xlarge", 6, 96), ("128xlarge", 8, 128), ("160xlarge", 10, 160),
        ("192xlarge", 12, 192), ("224xlarge", 14, 224), ("256xlarge", 16, 256), ("320xlarge", 20, 320),
        ("384xlarge", 24, 384), ("448xlarge", 28, 448), ("512xlarge", 32, 512),
    ]  # fmt: skip
    return [Preset(f"hm2.{size}", cores, ram) for size, cores, ram in sizes]


def _cores_memory(prefix: str, pairs: list[tuple[int, int]]) -> list[Preset]:
    return [Preset(f"{prefix}-c{cores}-m{ram}", cores, ram) for cores, ram in pairs]


def _all_presets() -> list[Preset]:
    presets = [*_hm1(), Preset("b2.medium", 2, 4, burstable=True), *_hm2()]
    presets.append(Preset("b3-c1-m4", 2, 4, burstable=True))
    presets += _cores_memory(
        "hm3",
        [(2, 8), (2, 12), (4, 16), (4, 24), (4, 32), (4, 48), (6, 60), (6, 78), (6, 96),
         (8, 128), (12, 192), (14, 224), (16, 256), (20, 320), (24, 384), (28, 448), (32, 512)],
    )  # fmt: skip
    presets += _cores_memory(
        "m4a",
        [(2, 16), (4, 32), (8, 64), (16, 128), (32, 256), (64, 512), (96, 768), (128, 1024), (224, 1792)],
    )
    presets += _cores_memory("m4af", [(2, 16), (4, 32), (8, 64), (16, 128), (32, 256), (48, 384), (64, 512), (80, 640)])
    presets += _cores_memory(
        "hm4af", [(2, 20), (4, 40), (8, 80), (16, 160), (32, 320), (48, 480), (64, 640), (80, 960)]
    )
    return presets


PRESETS: tuple[Preset, ...] = tuple(_all_presets())
PRESETS_BY_ID: dict[str, Preset] = {preset.id: preset for preset in PRESETS}

DEFAULT_DISK_TYPE = "network-ssd"
_ALL_DISK_TYPES = ("network-ssd", "local-ssd", "network-ssd-nonreplicated", "network-ssd-io-m3")


@dataclass(frozen=True)
class DiskRange:
    """The disk sizes a host may have, in bytes: ``low``-``high``, a multiple of ``step``."""

    low: int
    high: int
    step: int = 1


# Per disk type: (smallest, largest, step) in GiB (api.md §7.3); the smallest is also at
# least 2 x the preset's RAM.
_DISK_TYPE_RANGE_GIB: dict[str, tuple[int, int, int]] = {
    "network-ssd": (0, 4096, 1),
    "network-ssd-nonreplicated": (93, 8184, 93),
    "network-ssd-io-m3": (93, 8184, 93),
    "local-ssd": (100, 1500, 100),
}


def disk_types(preset: Preset) -> tuple[str, ...]:
    """The disk types a preset's platform offers (api.md §7.1)."""
    if preset.burstable:
        return ("network-ssd",)
    if preset.id.startswith("hm1."):
        return ("network-ssd", "local-ssd")
    return _ALL_DISK_TYPES


def disk_range(preset: Preset, disk_type: str) -> DiskRange:
    """Disk sizes for a host of ``preset`` on ``disk_type`` (one of ``disk_types(preset)``):
    burstable presets 8-32 GiB; others at least 2 x RAM, at most 4096 GiB (hm1) or 8184 GiB,
    within the disk type's own range and steps."""
    if preset.burstable:
        return DiskRange(8 * GIB, 32 * GIB)
    low, high, step = _DISK_TYPE_RANGE_GIB[disk_type]
    platform_high = 4096 if preset.id.startswith("hm1.") else 8184
    return DiskRange(max(low, 2 * preset.memory_gib) * GIB, min(high, platform_high) * GIB, step * GIB)
