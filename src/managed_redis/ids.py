"""Identifiers in the cloud's style: 20 characters of ``[a-z0-9]`` behind a prefix.

Clusters and operations of the managed Redis service look like ``c9qb2q230gg1m4s0a7kd``
(api.md §7.4): the ``c9q`` prefix, then random characters.
"""

from __future__ import annotations

import secrets
import string

ALPHABET = string.ascii_lowercase + string.digits
ID_LENGTH = 20
MDB_PREFIX = "c9q"


def new_id(prefix: str = MDB_PREFIX) -> str:
    """A fresh random id of ``ID_LENGTH`` characters starting with ``prefix``."""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(ID_LENGTH - len(prefix)))


def new_token() -> str:
    """A bearer token for API callers: 43 URL-safe characters (256 bits)."""
    return secrets.token_urlsafe(32)
