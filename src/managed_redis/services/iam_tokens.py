"""IamTokenService.Create: lets the SDK's ``token=`` (OAuth) mode work against this server.

The SDK exchanges an OAuth token for an IAM token before each call batch. Here a token
this server already accepts is its own IAM token; service-account JWTs are not supported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from google.protobuf import timestamp_pb2
from yandex.cloud.iam.v1 import iam_token_service_pb2 as service_pb

from managed_redis.clock import Clock
from managed_redis.errors import Unimplemented
from managed_redis.services.access import Principal
from managed_redis.services.context import Caller

TOKEN_LIFETIME = dt.timedelta(hours=12)


class IamTokenService:
    def __init__(self, authenticate: Callable[[str], Principal], clock: Clock) -> None:
        self.authenticate = authenticate
        self.clock = clock

    def create(self, request: service_pb.CreateIamTokenRequest, caller: Caller) -> service_pb.CreateIamTokenResponse:
        if request.WhichOneof("identity") != "yandex_passport_oauth_token":
            raise Unimplemented("only token exchange is supported here; service-account keys (jwt) are not")
        token = request.yandex_passport_oauth_token
        self.authenticate(token)  # raises UNAUTHENTICATED for an unknown token
        expires = timestamp_pb2.Timestamp()
        expires.FromDatetime(self.clock.now() + TOKEN_LIFETIME)
        return service_pb.CreateIamTokenResponse(iam_token=token, expires_at=expires)
