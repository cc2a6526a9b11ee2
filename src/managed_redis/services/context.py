"""What every service method learns about the call besides its request."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from google.protobuf.message import Message

from managed_redis.services.access import Principal


def call_fingerprint(method_path: str, request: Message) -> str:
    """SHA-256 hex of the gRPC method path and the request's deterministic bytes: one call sent
    again, over REST or gRPC, to any replica, has the same fingerprint."""
    digest = hashlib.sha256(method_path.encode())
    digest.update(b"\0")
    digest.update(request.SerializeToString(deterministic=True))
    return digest.hexdigest()


@dataclass(frozen=True)
class Caller:
    """The authenticated principal (None only for public methods) and the call's identity."""

    principal: Principal | None
    request_id: str
    idempotency_key: str | None = None
    # With a key: the call's own fingerprint (its method and request, ``call_fingerprint``),
    # what a repeated call under the key is compared by.
    fingerprint: str | None = None

    @property
    def authenticated(self) -> Principal:
        if self.principal is None:  # a public method called a private path: a bug, not bad input
            raise RuntimeError("this method needs an authenticated caller")
        return self.principal
