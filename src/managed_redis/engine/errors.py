"""The engine's own failure: a Redis process or command did not do what was asked.

The engine knows nothing of API codes. ``EngineError`` sits in the service's one error tree
(``managed_redis/errors.py``) under ``InternalError``: the operation worker fails the
operation with INTERNAL quoting its message (server paths cut), and a handler that knows
better turns it into another answer first.
"""

from __future__ import annotations

from managed_redis.errors import InternalError


class EngineError(InternalError):
    """A data-plane step failed; the message says which host and what happened."""
