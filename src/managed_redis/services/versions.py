"""VersionsService: the Redis versions clusters can be created with on this machine."""

from __future__ import annotations

from collections.abc import Sequence

from yandex.cloud.mdb.redis.v1 import versions_service_pb2 as service_pb
from yandex.cloud.mdb.v1 import version_pb2

from managed_redis.catalog.versions import RedisVersion, updatable_to
from managed_redis.services.context import Caller
from managed_redis.services.pagination import page_of


class VersionsService:
    def __init__(self, versions: Sequence[RedisVersion]) -> None:
        self.versions = list(versions)

    def list(self, request: service_pb.ListVersionsRequest, caller: Caller) -> service_pb.ListVersionsResponse:
        page, token = page_of(self.versions, request.page_size, request.page_token)
        return service_pb.ListVersionsResponse(
            version=[
                version_pb2.Version(
                    id=v.id,
                    name=v.name,
                    status=version_pb2.Version.Status.ACTUAL,
                    updatable_to=updatable_to(v, self.versions),
                )
                for v in page
            ],
            next_page_token=token,
        )
