"""ApiEndpointService: endpoint discovery, the SDK's first call, answered without a token.

Every service id the SDK may look up for this API points at this server's gRPC address.
"""

from __future__ import annotations

from yandex.cloud.endpoint import api_endpoint_pb2 as endpoint_pb
from yandex.cloud.endpoint import api_endpoint_service_pb2 as service_pb

from managed_redis.errors import NotFound
from managed_redis.services.context import Caller

ENDPOINT_IDS: tuple[str, ...] = ("managed-redis", "mdb-redis", "operation", "iam", "endpoint")


class ApiEndpointService:
    def __init__(self, grpc_address: str = "") -> None:
        # Set once the gRPC listener is bound (its port may be chosen by the OS).
        self.grpc_address = grpc_address

    def _endpoints(self) -> list[endpoint_pb.ApiEndpoint]:
        return [endpoint_pb.ApiEndpoint(id=i, address=self.grpc_address) for i in ENDPOINT_IDS]

    def get(self, request: service_pb.GetApiEndpointRequest, caller: Caller) -> endpoint_pb.ApiEndpoint:
        for endpoint in self._endpoints():
            if endpoint.id == request.api_endpoint_id:
                return endpoint
        raise NotFound(f"endpoint {request.api_endpoint_id!r} is not served here; known: {', '.join(ENDPOINT_IDS)}")

    def list(self, request: service_pb.ListApiEndpointsRequest, caller: Caller) -> service_pb.ListApiEndpointsResponse:
        return service_pb.ListApiEndpointsResponse(endpoints=self._endpoints())
