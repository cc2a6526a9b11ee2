"""A backup store in a local directory: ``file://DIR`` (default ``<data-dir>/backups``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from managed_redis.backup_store.base import BackupObjectMissing

CHUNK_BYTES = 1 << 20


class FileBackupStore:
    """Objects as files under ``directory``, each written beside its place and renamed into it.
    Every method raises ValueError for a key that points outside the directory."""

    def __init__(self, directory: Path) -> None:
        """No I/O: the directory is made by the first ``put``. Never raises."""
        self.directory = directory
        self.description = f"file://{directory}"

    def _path(self, key: str) -> Path:
        path = (self.directory / key).resolve()
        if self.directory.resolve() not in path.parents:
            raise ValueError(f"backup key {key!r} points outside the store")
        return path

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Raises OSError if the file cannot be written (a ``.partial`` file may stay; ``key``
        keeps what it held)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".partial")
        written = 0
        with tmp.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                written += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return written

    def get(self, key: str) -> Iterator[bytes]:
        """A generator: raises BackupObjectMissing when iteration starts if the file is not
        there; OSError if it cannot be read."""
        path = self._path(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise BackupObjectMissing(f"{self.description}/{key} does not exist") from None
        with handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

    def delete(self, key: str) -> None:
        """Raises OSError if the file is there but cannot be removed."""
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Never raises for a missing file."""
        return self._path(key).exists()
