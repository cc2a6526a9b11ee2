"""Backup bytes on the way in and out: zstd compression with a SHA-256 of what is stored.

``compress`` reads an RDB file and yields compressed chunks while hashing them;
``write_verified`` writes a stored object back out and refuses it, once read, unless its
hash and size are the ones recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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


def write_verified(chunks: Iterable[bytes], out: BinaryIO, sha256: str, stored_bytes: int) -> int:
    """Decompress ``chunks`` into ``out``; raise ChecksumMismatch at the end unless they hashed to
    ``sha256`` and came to ``stored_bytes``. Returns the bytes written.

    The verdict comes after the last byte: whoever reads ``out`` must not trust what it read
    until this returns.
    """
    hasher = hashlib.sha256()
    received = 0
    written = 0
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    try:
        for chunk in chunks:
            hasher.update(chunk)
            received += len(chunk)
            data = decompressor.decompress(chunk)
            out.write(data)
            written += len(data)
    except zstandard.ZstdError as exc:
        raise ChecksumMismatch(f"the stored object is not valid zstd data ({exc})") from None
    if received != stored_bytes or hasher.hexdigest() != sha256:
        raise ChecksumMismatch(
            f"read {received} bytes with SHA-256 {hasher.hexdigest()}, "
            f"but {stored_bytes} bytes with SHA-256 {sha256} were stored"
        )
    return written
