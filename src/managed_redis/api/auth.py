"""Authentication: a bearer token becomes a Principal, or the call is UNAUTHENTICATED.

Two sources of tokens:

- the bootstrap admin token: ``MREDIS_ADMIN_TOKEN``, or else ``<data-dir>/admin-token``
  (created on first start, mode 0600); admin on every folder;
- the tokens file ``<data-dir>/tokens.json``, re-read when it changes::

      {"tokens": [
        {"subject": "alice", "token": "s3cret-token",
         "roles": {"b1gfolder": ["managed-redis.editor"]}},
        {"subject": "ci", "token_sha256": "<hex sha-256 of the token>",
         "roles": {"*": ["managed-redis.viewer"]}}
      ]}

  ``"*"`` grants the roles on every folder. A token may be given as itself or as its
  SHA-256, so the file need not hold the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from managed_redis import ids
from managed_redis.dir_locks import directory_locked
from managed_redis.errors import InternalError, Unauthenticated
from managed_redis.services.access import ROLE_PERMISSIONS, Principal

log = logging.getLogger(__name__)

ADMIN_SUBJECT = "admin"


@dataclass(frozen=True)
class TokenEntry:
    subject: str
    token_sha256: str
    roles: dict[str, frozenset[str]]


class TokensFileError(InternalError, ValueError):
    """The tokens file is not what its format says; the message names the entry."""


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_admin_token(path: Path, configured: str | None) -> tuple[str, bool]:
    """The admin token and whether it was just created at ``path``."""
    if configured:
        return configured, False
    with directory_locked(path.parent):  # serve processes starting at once on one data dir: one token
        if path.exists():
            return path.read_text().strip(), False
        token = ids.new_token()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        return token, True


def parse_tokens_file(data: Any) -> list[TokenEntry]:
    if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
        raise TokensFileError('expected {"tokens": [...]}')
    entries = []
    for index, item in enumerate(data["tokens"]):
        where = f"tokens[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("subject"), str) or not item["subject"]:
            raise TokensFileError(f"{where}: needs a non-empty string 'subject'")
        if isinstance(item.get("token"), str) and item["token"]:
            digest = _sha256(item["token"])
        elif isinstance(item.get("token_sha256"), str) and len(item["token_sha256"]) == 64:
            digest = item["token_sha256"].lower()
        else:
            raise TokensFileError(f"{where}: needs 'token' or a 64-digit hex 'token_sha256'")
        roles = item.get("roles", {})
        if not isinstance(roles, dict):
            raise TokensFileError(f"{where}: 'roles' maps folder ids to lists of roles")
        parsed: dict[str, frozenset[str]] = {}
        for folder, names in roles.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise TokensFileError(f"{where}.roles[{folder!r}]: expected a list of role names")
            unknown = [n for n in names if n not in ROLE_PERMISSIONS]
            if unknown:
                raise TokensFileError(f"{where}.roles[{folder!r}]: unknown roles {unknown}")
            parsed[folder] = frozenset(names)
        entries.append(TokenEntry(item["subject"], digest, parsed))
    return entries


class Authenticator:
    def __init__(self, admin_token: str, tokens_path: Path) -> None:
        self._admin_sha256 = _sha256(admin_token)
        self._tokens_path = tokens_path
        self._lock = threading.Lock()
        self._loaded_mtime: float | None = None
        self._by_digest: dict[str, TokenEntry] = {}

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization`` header's bearer token."""
        return self.authenticate_token(_bearer(authorization))

    def authenticate_token(self, token: str) -> Principal:
        digest = _sha256(token)
        if hmac.compare_digest(digest, self._admin_sha256):
            return Principal(ADMIN_SUBJECT, admin_everywhere=True)
        entry = self._entries().get(digest)
        if entry is None:
            raise Unauthenticated("the token is not valid")
        return _principal(entry)

    def _entries(self) -> dict[str, TokenEntry]:
        try:
            mtime = self._tokens_path.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        with self._lock:
            if mtime != self._loaded_mtime:
                self._by_digest = self._load() if mtime is not None else {}
                self._loaded_mtime = mtime
            return self._by_digest

    def _load(self) -> dict[str, TokenEntry]:
        try:
            entries = parse_tokens_file(json.loads(self._tokens_path.read_text()))
        except (OSError, ValueError) as exc:
            # Keep serving with the tokens read before; a broken edit must not lock everyone out.
            log.error("ignoring %s: %s", self._tokens_path, exc)
            return self._by_digest
        return {entry.token_sha256: entry for entry in entries}


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("this call needs an 'Authorization: Bearer <token>' header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def _principal(entry: TokenEntry) -> Principal:
    return Principal(entry.subject, folder_roles=entry.roles)
