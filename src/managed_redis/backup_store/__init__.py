"""Where backup files live: a local directory or an S3-compatible bucket.

``open_backup_store("file:///var/backups")`` or ``open_backup_store("s3://bucket/prefix")``.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from managed_redis.backup_store.base import BackupObjectMissing, BackupStore
from managed_redis.backup_store.files import FileBackupStore

__all__ = ["BackupObjectMissing", "BackupStore", "open_backup_store"]


def open_backup_store(url: str) -> BackupStore:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return FileBackupStore(Path(urllib.parse.unquote(parsed.netloc + parsed.path)))
    if parsed.scheme == "s3":
        from managed_redis.backup_store.s3 import S3BackupStore  # boto3 loads only when used

        if not parsed.netloc:
            raise ValueError(f"backup store {url!r} names no bucket")
        return S3BackupStore(parsed.netloc, parsed.path)
    raise ValueError(f"backup store {url!r}: use file://DIR or s3://bucket/prefix")
