"""Where backup files live: a local directory or an S3-compatible bucket.

``open_backup_store("file:///var/backups")`` or ``open_backup_store("s3://bucket/prefix",
S3Access(...))``; how to reach the bucket comes from the settings (``s3_*``).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from managed_redis.backup_store.base import BackupObjectMissing, BackupStore
from managed_redis.backup_store.files import FileBackupStore

__all__ = ["BackupObjectMissing", "BackupStore", "S3Access", "open_backup_store"]


@dataclass(frozen=True)
class S3Access:
    """How to reach an S3-compatible service. None leaves a value to boto3's own resolution
    (its credential chain: ``~/.aws/credentials``, an instance role, ...). The secrets stay
    out of ``repr``."""

    endpoint_url: str | None
    region: str | None
    access_key_id: str | None
    secret_access_key: str | None = field(repr=False)
    session_token: str | None = field(repr=False)


def open_backup_store(url: str, s3: S3Access | None = None) -> BackupStore:
    """The store at ``url``: ``file://DIR`` or ``s3://bucket/prefix`` (reached through ``s3``,
    or boto3's defaults when None). Raises ValueError for any other URL or one naming no
    bucket."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return FileBackupStore(Path(urllib.parse.unquote(parsed.netloc + parsed.path)))
    if parsed.scheme == "s3":
        from managed_redis.backup_store.s3 import S3BackupStore  # boto3 loads only when used

        if not parsed.netloc:
            raise ValueError(f"backup store {url!r} names no bucket")
        return S3BackupStore(parsed.netloc, parsed.path, access=s3)
    raise ValueError(f"backup store {url!r}: use file://DIR or s3://bucket/prefix")
