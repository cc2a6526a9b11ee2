"""``mredis resource-preset list`` and ``mredis version list``: what clusters can be made of."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from managed_redis.client_cli.registry import Subparsers, command

if TYPE_CHECKING:
    from managed_redis.client_cli.session import Session

PRESET_COLUMNS = ("id", "cores", "memory", "zoneIds")
# Version has no "deprecated": its status (ACTIVE, DEPRECATED, ...) says so.
VERSION_COLUMNS = ("id", "name", "status", "updatableTo")


def _presets(session: Session, args: argparse.Namespace) -> None:
    presets = session.client.list_all("/managed-redis/v1/resourcePresets", "resourcePresets")
    session.show(presets, PRESET_COLUMNS)


def _versions(session: Session, args: argparse.Namespace) -> None:
    # ListVersionsResponse names its list "version" (singular), api.md §2.2.
    session.show(session.client.list_all("/managed-redis/v1/versions", "version"), VERSION_COLUMNS)


def register_presets(sub: Subparsers) -> None:
    """Add ``list`` to the ``resource-preset`` group ``sub``."""
    command(sub, "list", "list the host classes", _presets)


def register_versions(sub: Subparsers) -> None:
    """Add ``list`` to the ``version`` group ``sub``."""
    command(sub, "list", "list the Redis versions this server runs", _versions)
