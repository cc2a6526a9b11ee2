"""A newly installed patch release of Redis 7.0, as far as the server can tell: a wrapper
that answers ``--version`` with 7.0.99 and otherwise runs Debian's redis-server, logging
each start. Tests of planned maintenance name it in ``MREDIS_REDIS_BINARIES``."""

from __future__ import annotations

from pathlib import Path

OLD = "7.0.15"  # what Debian 12's redis-server says it is
NEW = "7.0.99"


def write_wrapper(directory: Path) -> tuple[Path, Path]:
    """A "newly installed" redis-server 7.0.99 in ``directory``: the same binary, each start
    logged as "<pid> <arguments>" (the pid stays across exec). Returns (the wrapper, its log)."""
    log = directory / "starts.log"
    wrapper = directory / f"redis-server-{NEW}"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "Redis server v={NEW} sha=00000000:0 malloc=libc bits=64"; exit 0; fi\n'
        f'echo "$$ $*" >> {log}\n'
        'exec /usr/bin/redis-server "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper, log
