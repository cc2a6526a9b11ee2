"""The method table covers every RPC of the served services, each reachable over REST."""

from __future__ import annotations

from types import MethodType

from managed_redis.api.methods import build_method_table
from managed_redis.services.clusters import ClusterService
from managed_redis.services.rpc_table import RPC_TABLE


def test_every_method_has_an_http_route_and_message_types() -> None:
    table = build_method_table({})
    names = {method.name for method in table}
    assert {
        "ClusterService.Create",
        "ClusterService.StreamLogs",
        "OperationService.Get",
        "ApiEndpointService.List",
    } <= names
    assert len(table) >= 60
    for method in table:
        assert method.http is not None, method.name
        assert method.request_type.DESCRIPTOR.full_name == method.descriptor.input_type.full_name
        assert method.implementation is None


def test_the_rpc_table_binds_each_built_rpc_to_its_service_object() -> None:
    service = object()
    table = build_method_table({"yandex.cloud.mdb.redis.v1.ClusterService": service})
    bound = {m.descriptor.name: m.implementation for m in table if m.implementation is not None}
    assert set(bound) == set(RPC_TABLE[0].implemented)
    start_failover = bound["StartFailover"]
    assert isinstance(start_failover, MethodType)
    assert (start_failover.__func__, start_failover.__self__) == (ClusterService.start_failover, service)
    # A service given no object binds nothing (every ClusterService RPC is built now).
    assert not any(m.implementation for m in table if m.name.startswith("MaintenanceService."))
