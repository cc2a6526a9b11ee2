"""A backup store in an S3-compatible bucket: ``s3://bucket/prefix``, through boto3.

The endpoint, region and credentials come from the settings (``s3_*``, which also read
boto3's ``AWS_*`` variables), passed in as an ``S3Access``. Uploads are multipart, streamed:
nothing is held whole in memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from managed_redis.backup_store.base import BackupObjectMissing

if TYPE_CHECKING:
    from managed_redis.backup_store import S3Access

CHUNK_BYTES = 8 << 20


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks, for boto3's upload_fileobj."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        self.total += size
        return size


def _client(access: S3Access | None) -> Any:
    """A boto3 S3 client: path-style addressing (what S3-compatible services take), 5 attempts."""
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"})
    if access is None:
        return boto3.client("s3", config=config)
    return boto3.client(
        "s3",
        endpoint_url=access.endpoint_url,
        region_name=access.region,
        aws_access_key_id=access.access_key_id,
        aws_secret_access_key=access.secret_access_key,
        aws_session_token=access.session_token,
        config=config,
    )


class S3BackupStore:
    """Objects under ``prefix`` in ``bucket``, through ``client`` or one made from ``access``."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None, access: S3Access | None = None) -> None:
        """Makes the boto3 client (no request yet). Never raises for an unreachable service: the
        first call does."""
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.description = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.client = client or _client(access)
        self.transfer = TransferConfig(multipart_threshold=CHUNK_BYTES, multipart_chunksize=CHUNK_BYTES)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Uploads ``chunks`` under ``key``, multipart past ``CHUNK_BYTES``; returns the bytes
        stored. Raises botocore's ClientError (refused) or BotoCoreError (unreachable), or what
        ``chunks`` raise, if it could not be stored."""
        reader = _ChunkReader(chunks)
        self.client.upload_fileobj(
            io.BufferedReader(reader, CHUNK_BYTES), self.bucket, self._key(key), Config=self.transfer
        )
        return reader.total

    def get(self, key: str) -> Iterator[bytes]:
        """A generator: raises BackupObjectMissing when iteration starts if there is no such object;
        botocore's ClientError for any other refusal, BotoCoreError if the service cannot be
        reached."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise BackupObjectMissing(f"{self.description}/{key} does not exist") from None
            raise
        body = response["Body"]
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        """Deletes the object (S3 answers a missing one as deleted). Raises botocore's ClientError
        or BotoCoreError if the service refuses or cannot be reached."""
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        """Whether ``HEAD`` finds the object; any refusal counts as missing. Raises botocore's
        BotoCoreError if the service cannot be reached."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError:
            return False
        return True
