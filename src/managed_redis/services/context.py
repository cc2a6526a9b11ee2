"""What every service method learns about the call besides its request."""

from __future__ import annotations

from dataclasses import dataclass

from managed_redis.services.access import Principal


@dataclass(frozen=True)
class Caller:
    """The authenticated principal (None only for public methods) and the call's identity."""

    principal: Principal | None
    request_id: str
    idempotency_key: str | None = None

    @property
    def authenticated(self) -> Principal:
        if self.principal is None:  # a public method called a private path: a bug, not bad input
            raise RuntimeError("this method needs an authenticated caller")
        return self.principal
