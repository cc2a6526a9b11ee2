"""The method table covers every RPC of the served services, each reachable over REST."""

from __future__ import annotations

from managed_redis.api.methods import build_method_table, snake_case


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


def test_implementations_bind_by_snake_case_name():
    class Fake:
        def start_failover(self, request, caller):
            return None

    table = build_method_table({"yandex.cloud.mdb.redis.v1.ClusterService": Fake()})
    bound = {m.name for m in table if m.implementation is not None}
    assert bound == {"ClusterService.StartFailover"}
    assert snake_case("ListAccessBindings") == "list_access_bindings"
