"""The engine's own failure: a Redis process or command did not do what was asked.

The engine knows nothing of API codes; the operation handlers decide what an
``EngineError`` means for the caller (usually a failed operation saying why).
"""

from __future__ import annotations


class EngineError(Exception):
    """A data-plane step failed; the message says which host and what happened."""
