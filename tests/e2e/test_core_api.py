"""The service core as users meet it: the official SDK over gRPC+TLS, and plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from yandex.cloud.endpoint.api_endpoint_service_pb2 import ListApiEndpointsRequest
from yandex.cloud.endpoint.api_endpoint_service_pb2_grpc import ApiEndpointServiceStub
from yandex.cloud.iam.v1.iam_token_service_pb2 import RevokeIamTokenRequest
from yandex.cloud.iam.v1.iam_token_service_pb2_grpc import IamTokenServiceStub
from yandex.cloud.mdb.redis.v1.cluster_service_pb2 import ListClustersRequest
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub
from yandex.cloud.mdb.redis.v1.resource_preset_service_pb2 import (
    GetResourcePresetRequest,
    ListResourcePresetsRequest,
)
from yandex.cloud.mdb.redis.v1.resource_preset_service_pb2_grpc import ResourcePresetServiceStub
from yandex.cloud.mdb.redis.v1.versions_service_pb2 import ListVersionsRequest
from yandex.cloud.mdb.redis.v1.versions_service_pb2_grpc import VersionsServiceStub

from managed_redis.catalog.presets import PRESETS
from tests.support.server import RunningServer, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("core")) as running:
        yield running


def test_sdk_discovers_endpoints_and_lists_the_preset_catalogue(server: RunningServer) -> None:
    sdk = server.sdk()
    endpoints = sdk.client(ApiEndpointServiceStub).List(ListApiEndpointsRequest())
    assert {e.id: e.address for e in endpoints.endpoints} == {
        name: server.grpc_addr for name in ("managed-redis", "mdb-redis", "operation", "iam", "endpoint")
    }
    presets, token = [], ""
    client = sdk.client(ResourcePresetServiceStub)
    while True:
        page = client.List(ListResourcePresetsRequest(page_size=25, page_token=token))
        presets += page.resource_presets
        token = page.next_page_token
        if not token:
            break
    assert [p.id for p in presets] == [p.id for p in PRESETS]
    small = client.Get(GetResourcePresetRequest(resource_preset_id="hm1.small"))
    assert small.memory == 16 * 2**30 and small.cores == 2
    assert list(small.zone_ids) == ["ru-central1-a", "ru-central1-b", "ru-central1-d", "ru-central1-e"]


def test_sdk_with_a_bad_token_is_unauthenticated(server: RunningServer) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        server.sdk(token="not-a-token").client(ResourcePresetServiceStub).List(ListResourcePresetsRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_sdk_token_exchange_mode_works(server: RunningServer) -> None:
    import yandexcloud

    sdk = yandexcloud.SDK(token=server.admin_token, endpoint=server.grpc_addr, root_certificates=server.ca_pem)
    versions = sdk.client(VersionsServiceStub).List(ListVersionsRequest())
    assert versions.version and all(v.id for v in versions.version)


def test_grpc_validation_and_unimplemented_name_what_is_wrong(server: RunningServer) -> None:
    clusters = server.sdk().client(ClusterServiceStub)
    with pytest.raises(grpc.RpcError) as caught:
        clusters.List(ListClustersRequest(folder_id="f", page_size=5000))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "page_size: must be in 0-1000"
    tokens = server.sdk().client(IamTokenServiceStub)
    with pytest.raises(grpc.RpcError) as caught:
        tokens.Revoke(RevokeIamTokenRequest(iam_token="x"))
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert caught.value.details() == "IamTokenService.Revoke is not implemented by this server yet"


def test_rest_presets_page_with_next_page_token(server: RunningServer) -> None:
    first = server.rest("GET", "/managed-redis/v1/resourcePresets?pageSize=2")
    assert first.status_code == 200
    body = first.json()
    assert [p["id"] for p in body["resourcePresets"]] == ["hm1.nano", "hm1.micro"]
    assert body["resourcePresets"][0]["memory"] == str(8 * 2**30)
    assert body["resourcePresets"][0]["zoneIds"][0] == "ru-central1-a"
    token = body["nextPageToken"]
    second = server.rest("GET", f"/managed-redis/v1/resourcePresets?pageSize=2&pageToken={token}").json()
    assert [p["id"] for p in second["resourcePresets"]] == ["hm1.small", "hm1.medium"]


def test_rest_without_token_is_401_with_rpc_status(server: RunningServer) -> None:
    response = server.rest("GET", "/managed-redis/v1/resourcePresets", token=None)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == 16 and "Bearer" in body["message"]
    assert body["details"][-1]["requestId"] == response.headers["X-Request-Id"]


def test_rest_list_clusters_without_folder_is_400_naming_folder_id(server: RunningServer) -> None:
    response = server.rest("GET", "/managed-redis/v1/clusters")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3 and body["message"] == "folder_id: required"
    assert body["details"][0]["fieldViolations"] == [{"field": "folder_id", "description": "required"}]


def test_rest_unknown_route_and_unimplemented_method(server: RunningServer) -> None:
    assert server.rest("GET", "/managed-redis/v1/nothing").status_code == 404
    response = server.rest(
        "POST",
        "/iam/v1/tokens:revoke",
        json={"iamToken": "x"},
    )
    assert response.status_code == 501
    assert response.json() == {
        "code": 12,
        "message": "IamTokenService.Revoke is not implemented by this server yet",
        "details": response.json()["details"],
    }


def test_rest_endpoint_discovery_needs_no_token(server: RunningServer) -> None:
    response = server.rest("GET", "/endpoints", token=None)
    assert response.status_code == 200
    assert {e["id"] for e in response.json()["endpoints"]} >= {"managed-redis", "operation"}


def test_rest_unknown_operation_is_404(server: RunningServer) -> None:
    response = server.rest("GET", "/operations/c9qnosuchoperation01")
    assert response.status_code == 404 and response.json()["code"] == 5
