"""The ``filter`` of List methods: ``name="<cluster name>"``, the one form the API documents."""

from __future__ import annotations

import re

from managed_redis.errors import InvalidArgument

_NAME_FILTER = re.compile(r'^\s*name\s*=\s*"([^"]*)"\s*$')


def parse_name_filter(text: str) -> str | None:
    """The cluster name a filter selects, or None for no filter."""
    if not text.strip():
        return None
    match = _NAME_FILTER.match(text)
    if match is None:
        raise InvalidArgument.field("filter", 'only name="<cluster name>" is supported')
    return match.group(1)
