"""Backup bytes on the way in and out: zstd compression with a SHA-256 of what is stored.

``compress`` reads an RDB file and yields compressed chunks while hashing them;
``restore_verified`` writes a stored object back out as an RDB file and refuses it (leaving
nothing behind) unless its hash and size are the ones recorded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import zstandard

READ_BYTES = 1 << 20
ZSTD_LEVEL = 3


class ChecksumMismatch(Exception):
    """What was read back is not what was stored."""


@dataclass
class Digest:
    sha256: str = ""
    stored_bytes: int = 0
    raw_bytes: int = 0


def compress(path: Path, digest: Digest) -> Iterator[bytes]:
    """The file at ``path``, zstd-compressed in chunks; ``digest`` is filled in as they pass."""
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=-1)
    hasher = hashlib.sha256()
    chunker = compressor.chunker(chunk_size=READ_BYTES)
    with path.open("rb") as source:
        while block := source.read(READ_BYTES):
            digest.raw_bytes += len(block)
            for chunk in chunker.compress(block):
                hasher.update(chunk)
                digest.stored_bytes += len(chunk)
                yield chunk
    for chunk in chunker.finish():
        hasher.update(chunk)
        digest.stored_bytes += len(chunk)
        yield chunk
    digest.sha256 = hasher.hexdigest()


def restore_verified(chunks: Iterable[bytes], target: Path, sha256: str, stored_bytes: int) -> int:
    """Decompress into ``target`` (atomically) if the chunks hash to ``sha256``; returns RDB bytes."""
    tmp = target.with_name(target.name + ".restoring")
    hasher = hashlib.sha256()
    received = 0
    written = 0
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    try:
        with tmp.open("wb") as out:
            for chunk in chunks:
                hasher.update(chunk)
                received += len(chunk)
                data = decompressor.decompress(chunk)
                out.write(data)
                written += len(data)
            out.flush()
            os.fsync(out.fileno())
        if received != stored_bytes or hasher.hexdigest() != sha256:
            raise ChecksumMismatch(
                f"read {received} bytes with SHA-256 {hasher.hexdigest()}, "
                f"but {stored_bytes} bytes with SHA-256 {sha256} were stored"
            )
        os.replace(tmp, target)
        return written
    except zstandard.ZstdError as exc:
        raise ChecksumMismatch(f"the stored object is not valid zstd data ({exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
