"""What operation handlers and the supervisor work with besides the store."""

from __future__ import annotations

from dataclasses import dataclass

from managed_redis.backup_store import BackupStore
from managed_redis.catalog.versions import RedisVersion
from managed_redis.engine.base import Engine
from managed_redis.errors import FailedPrecondition
from managed_redis.pki import CertificateAuthority
from managed_redis.settings import Settings
from managed_redis.vault import Vault


@dataclass(frozen=True)
class Deps:
    settings: Settings
    engine: Engine
    vault: Vault
    ca: CertificateAuthority
    versions: tuple[RedisVersion, ...]
    backups: BackupStore

    def version(self, version_id: str) -> RedisVersion:
        """The installed Redis ``version_id``; FailedPrecondition if this machine has it no more."""
        for version in self.versions:
            if version.id == version_id:
                return version
        raise FailedPrecondition(f"Redis {version_id} is not available on this machine any more")
