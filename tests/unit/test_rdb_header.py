"""Reading an RDB header's auxiliary fields, from bytes laid out as Redis writes them."""

from __future__ import annotations

import struct
from pathlib import Path

from managed_redis.engine.rdb_header import aux_fields, records_replication_position

SELECT_DB = b"\xfe\x00"


def plain(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 64
    return bytes([len(data)]) + data


def int8(value: int) -> bytes:
    return b"\xc0" + struct.pack("<b", value)


def int32(value: int) -> bytes:
    return b"\xc2" + struct.pack("<i", value)


def aux(key: str, value: bytes) -> bytes:
    return b"\xfa" + plain(key) + value


def rdb(*fields: bytes, magic: bytes = b"REDIS0010") -> bytes:
    return magic + b"".join(fields) + SELECT_DB + b"\xff"


REPL_ID = "8c1f3b0b5a9e4b0c8f0a1d2e3f405162738495a6"


def test_fields_in_every_encoding_redis_uses_for_them(tmp_path: Path) -> None:
    path = tmp_path / "dump.rdb"
    long_value = "x" * 300  # a 14-bit length
    path.write_bytes(
        rdb(
            aux("redis-ver", plain("7.0.15")),
            aux("redis-bits", int8(64)),
            aux("ctime", int32(1_795_738_842)),
            aux("note", bytes([0x40 | (300 >> 8), 300 & 0xFF]) + long_value.encode()),
            aux("repl-stream-db", int8(0)),
            aux("repl-id", plain(REPL_ID)),
            aux("repl-offset", int32(16_488_913)),
        )
    )
    assert aux_fields(path) == {
        "redis-ver": "7.0.15",
        "redis-bits": "64",
        "ctime": "1795738842",
        "note": long_value,
        "repl-stream-db": "0",
        "repl-id": REPL_ID,
        "repl-offset": "16488913",
    }
    assert records_replication_position(path)


def test_a_snapshot_taken_outside_replication_records_no_position(tmp_path: Path) -> None:
    path = tmp_path / "dump.rdb"
    path.write_bytes(rdb(aux("redis-ver", plain("7.0.15")), aux("aof-base", int8(0))))
    assert aux_fields(path) == {"redis-ver": "7.0.15", "aof-base": "0"}
    assert not records_replication_position(path)


def test_anything_else_reads_as_no_fields(tmp_path: Path) -> None:
    path = tmp_path / "dump.rdb"
    assert aux_fields(path) == {}  # missing
    path.write_bytes(b"not an rdb at all")
    assert aux_fields(path) == {}
    truncated = rdb(aux("repl-stream-db", int8(0)), aux("repl-id", plain(REPL_ID)))[:30]
    path.write_bytes(truncated)
    assert aux_fields(path) == {} and not records_replication_position(path)
