"""The backup store interface: named objects written from and read as streams of bytes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from managed_redis.errors import InternalError


class BackupObjectMissing(InternalError):
    """The store has no object under that key."""


class BackupStore(Protocol):
    """Where backup files live. Keys are relative paths like ``<cluster>/<backup>/shard1.rdb.zst``."""

    description: str

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the chunks under ``key`` (replacing any old object); returns the bytes stored.

        An object appears whole or not at all.
        """
        ...

    def get(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; raises BackupObjectMissing."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""
        ...

    def exists(self, key: str) -> bool: ...
