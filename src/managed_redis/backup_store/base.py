"""The backup store interface: named objects written from and read as streams of bytes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from managed_redis.errors import InternalError


class BackupObjectMissing(InternalError):
    """The store has no object under that key."""


class BackupStore(Protocol):
    """Where backup files live. Keys are relative paths like ``<cluster>/<backup>/shard1.rdb.zst``.

    The transport's errors pass through: OSError for a directory, botocore's ClientError (a
    refusal) or BotoCoreError (unreachable) for S3.
    """

    description: str

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the chunks under ``key`` (replacing any old object); returns the bytes stored.

        An object appears whole or not at all. Raises the transport's error if it cannot be
        written (OSError for a directory, botocore's ClientError or BotoCoreError for S3);
        ``key`` then keeps what it held.
        """
        ...

    def get(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks. A generator: BackupObjectMissing comes when iteration
        starts if there is no object under ``key``; an object that cannot be read raises the
        transport's error."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error. Raises the transport's error if
        it cannot be removed."""
        ...

    def exists(self, key: str) -> bool:
        """Whether there is an object under ``key``. Raises the transport's error if the store
        cannot be asked (S3 counts any refusal as missing)."""
        ...
