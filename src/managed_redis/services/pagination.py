"""Page sizes and opaque page tokens for List methods (api.md §1.4).

``page_size`` 0 means the default of 100. A token is URL-safe base64 of the position to
resume after, short enough for the 100-character token limits of the API. A token that
cannot be decoded is an INVALID_ARGUMENT naming ``page_token``: whatever a caller sends
(non-ASCII text, control characters, numbers past any date) is checked here, before it
reaches a query.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Sequence
from typing import TypeVar

from managed_redis.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 100
_SEPARATOR = "\x1f"
# What the parts of tokens this server issues look like: decimal numbers, and ids
# (``c9q…``, backup ids ``<cluster id>:<suffix>``) of printable ASCII.
_NUMBER = re.compile(r"[0-9]{1,18}")
_ITEM_ID = re.compile(r"[!-~]{1,200}")
_FOREIGN = "not a token this server issued"

T = TypeVar("T")


def page_size(requested: int) -> int:
    return requested or DEFAULT_PAGE_SIZE


def encode_token(*parts: str) -> str:
    raw = _SEPARATOR.join(parts).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, parts: int) -> list[str]:
    """The ``parts`` strings a token holds; InvalidArgument naming ``page_token`` otherwise."""
    try:
        # Non-ASCII text makes b64decode raise a plain ValueError, not binascii.Error.
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, ValueError):
        raise InvalidArgument.field("page_token", _FOREIGN) from None
    values = raw.split(_SEPARATOR)
    if len(values) != parts:
        raise InvalidArgument.field("page_token", _FOREIGN)
    return values


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def encode_time_key(created_at: dt.datetime, item_id: str) -> str:
    """A token resuming after the item created at ``created_at`` with id ``item_id``."""
    return encode_token(str((created_at - _EPOCH) // dt.timedelta(microseconds=1)), item_id)


def decode_time_key(token: str) -> tuple[dt.datetime, str] | None:
    """The (created_at, id) a token resumes after; None for the first page."""
    if not token:
        return None
    micros, item_id = decode_token(token, 2)
    if not _NUMBER.fullmatch(micros) or not _ITEM_ID.fullmatch(item_id):
        raise InvalidArgument.field("page_token", _FOREIGN)
    try:
        return _EPOCH + dt.timedelta(microseconds=int(micros)), item_id
    except OverflowError:  # past year 9999
        raise InvalidArgument.field("page_token", _FOREIGN) from None


def page_of(items: Sequence[T], size: int, token: str) -> tuple[list[T], str]:
    """Offset paging of a list held in memory: the page and the next token ('' on the last)."""
    start = 0
    if token:
        (offset,) = decode_token(token, 1)
        if not _NUMBER.fullmatch(offset):
            raise InvalidArgument.field("page_token", _FOREIGN)
        start = int(offset)
    size = page_size(size)
    page = list(items[start : start + size])
    next_token = encode_token(str(start + size)) if start + size < len(items) else ""
    return page, next_token
