"""Secrets at rest: cluster passwords are stored encrypted, never in plain text.

The key is ``MREDIS_SECRET_KEY`` when set (every process sharing a database must then
use the same one), else ``<data-dir>/secret.key``, created on first use with mode 0600.
Encryption is Fernet (AES-128-CBC with HMAC-SHA256), from the ``cryptography`` package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from managed_redis.dir_locks import directory_locked
from managed_redis.errors import InternalError


class VaultError(InternalError):
    """A secret could not be read back: wrong key or damaged data."""


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def open(cls, data_dir: Path, configured_key: str | None = None) -> Vault:
        if configured_key:
            return cls(configured_key.encode())
        path = data_dir / "secret.key"
        with directory_locked(data_dir):  # processes starting at once on one data dir: one key
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(Fernet.generate_key())
            return cls(path.read_bytes().strip())

    def seal(self, secrets: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode())

    def open_sealed(self, sealed: bytes) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(sealed))
        except InvalidToken:
            raise VaultError(
                "cannot decrypt stored secrets: is MREDIS_SECRET_KEY the key they were sealed with?"
            ) from None
        return data
