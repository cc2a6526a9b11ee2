"""The Redis versions this machine can run, found from the server binaries themselves.

``redis-server --version`` printing ``Redis server v=7.0.15 ...`` makes version ``7.0``;
``valkey-server`` printing ``Valkey server v=8.0.1`` makes ``8.0-valkey`` (the cloud's
spelling). The binaries looked at are ``redis-server`` and ``valkey-server`` on PATH, then
those named in the ``redis_binaries`` setting; the first binary found for a version wins.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

_VERSION_LINE = re.compile(r"^(Redis|Valkey|KeyDB) server v=(\d+)\.(\d+)\.(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class RedisVersion:
    id: str
    flavor: str
    major: int
    minor: int
    patch: int
    binary: str

    @property
    def full_version(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def name(self) -> str:
        return f"{self.flavor.capitalize()} {self.major}.{self.minor}"

    @property
    def sort_key(self) -> tuple[int, int, int]:
        return (self.major, self.minor, 0 if self.flavor == "redis" else 1)


def parse_version_output(output: str, binary: str) -> RedisVersion | None:
    match = _VERSION_LINE.match(output.strip())
    if match is None:
        return None
    flavor = match.group(1).lower()
    major, minor, patch = (int(match.group(n)) for n in (2, 3, 4))
    version_id = f"{major}.{minor}" if flavor == "redis" else f"{major}.{minor}-{flavor}"
    return RedisVersion(version_id, flavor, major, minor, patch, binary)


def probe(binary: str) -> RedisVersion | None:
    try:
        result = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("cannot run %s --version: %s", binary, exc)
        return None
    version = parse_version_output(result.stdout, binary)
    if version is None:
        log.warning("%s --version printed nothing this server understands", binary)
    return version


def discover(extra_binaries: Iterable[str] = ()) -> list[RedisVersion]:
    """Every distinct version runnable here, oldest first."""
    candidates = [shutil.which("redis-server"), shutil.which("valkey-server"), *extra_binaries]
    found: dict[str, RedisVersion] = {}
    for binary in candidates:
        if not binary:
            continue
        version = probe(binary)
        if version is not None and version.id not in found:
            found[version.id] = version
    return sorted(found.values(), key=lambda v: v.sort_key)


def updatable_to(version: RedisVersion, available: Iterable[RedisVersion]) -> list[str]:
    """Versions a cluster on ``version`` may move to: every newer one (never a downgrade)."""
    return [other.id for other in available if other.sort_key > version.sort_key]
