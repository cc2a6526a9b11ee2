"""What an RDB file says about itself before its data: the auxiliary fields of its header.

Redis writes them first (``redis-ver``, ``ctime``, and, when the snapshot was taken inside a
replication chain, ``repl-id``, ``repl-offset`` and ``repl-stream-db``). Only the header is
read; a file in a format this does not know reads as having no fields, which costs the
caller an optimisation, never correctness.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from managed_redis.errors import InternalError

AUX_OPCODE = 0xFA
MAGICS = (b"REDIS", b"VALKEY")
HEADER_BYTES = 9  # the magic and a zero-padded version, e.g. REDIS0010
MAX_FIELDS = 64
REPLICATION_FIELDS = ("repl-id", "repl-offset", "repl-stream-db")


class _NotUnderstood(InternalError):
    pass


def _read(source: BinaryIO, count: int) -> bytes:
    data = source.read(count)
    if len(data) != count:
        raise _NotUnderstood("short read")
    return data


def _length(source: BinaryIO) -> tuple[int, int | None]:
    """(length, None) for a plain string; (0, encoding) for a specially encoded one."""
    first = _read(source, 1)[0]
    kind = first >> 6
    if kind == 0:
        return first & 0x3F, None
    if kind == 1:
        return ((first & 0x3F) << 8) | _read(source, 1)[0], None
    if first == 0x80:
        return struct.unpack(">I", _read(source, 4))[0], None
    if first == 0x81:
        return struct.unpack(">Q", _read(source, 8))[0], None
    if kind == 3:
        return 0, first & 0x3F
    raise _NotUnderstood(f"length byte {first:#x}")


def _string(source: BinaryIO) -> str:
    length, encoding = _length(source)
    if encoding is None:
        return _read(source, length).decode("latin-1")
    if encoding in (0, 1, 2):  # an integer in 1, 2 or 4 little-endian bytes
        size = 1 << encoding
        return str(int.from_bytes(_read(source, size), "little", signed=True))
    if encoding == 3:  # LZF-compressed: not expected in the header; skipped, not decoded
        compressed, _ = _length(source)
        _length(source)
        _read(source, compressed)
        return ""
    raise _NotUnderstood(f"string encoding {encoding}")


def aux_fields(path: Path) -> dict[str, str]:
    """The header's auxiliary fields; empty if the file is missing or not an RDB this knows.
    Never raises."""
    fields: dict[str, str] = {}
    try:
        with path.open("rb") as source:
            if not _read(source, HEADER_BYTES).startswith(MAGICS):
                return {}
            while len(fields) < MAX_FIELDS and source.read(1) == bytes([AUX_OPCODE]):
                key = _string(source)
                fields[key] = _string(source)
    except (OSError, _NotUnderstood):
        return {}
    return fields


def records_replication_position(path: Path) -> bool:
    """Whether the snapshot knows where it stands in a replication stream: then a master and
    replicas that all start from it can link up by partial sync, with no full copy.
    Never raises: an unreadable file records nothing."""
    fields = aux_fields(path)
    return all(fields.get(name) not in (None, "", "-1") for name in REPLICATION_FIELDS)
