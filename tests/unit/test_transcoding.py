"""REST routing and HTTP <-> protobuf transcoding from the http annotations."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1.config import redis_pb2

from managed_redis.api.json_rendering import JsonRenderer
from managed_redis.api.methods import build_method_table
from managed_redis.api.transcoding import MethodNotAllowed, Router, build_request
from managed_redis.errors import InvalidArgument, NotFound, Unimplemented


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(build_method_table({}))


def route_of(router: Router, verb: str, path: str) -> tuple[str, dict[str, str]]:
    route, params = router.match(verb, path)
    return route.method.name, params


def test_plain_and_custom_verb_paths(router: Router) -> None:
    assert route_of(router, "GET", "/managed-redis/v1/clusters/c9qabc") == (
        "ClusterService.Get",
        {"cluster_id": "c9qabc"},
    )
    assert route_of(router, "POST", "/managed-redis/v1/clusters/c9qabc:start") == (
        "ClusterService.Start",
        {"cluster_id": "c9qabc"},
    )
    assert route_of(router, "GET", "/managed-redis/v1/clusters/c9qabc:logs")[0] == "ClusterService.ListLogs"
    assert route_of(router, "POST", "/managed-redis/v1/clusters:restore")[0] == "ClusterService.Restore"
    assert route_of(router, "POST", "/managed-redis/v1/clusters/c1/hosts:batchCreate")[0] == "ClusterService.AddHosts"


def test_backup_ids_with_a_colon_route_to_backup_get(router: Router) -> None:
    assert route_of(router, "GET", "/managed-redis/v1/backups/c9qabc%3A20181113T133617") == (
        "BackupService.Get",
        {"backup_id": "c9qabc:20181113T133617"},
    )
    assert route_of(router, "GET", "/managed-redis/v1/backups/c9qabc:20181113T133617")[1] == {
        "backup_id": "c9qabc:20181113T133617"
    }


def test_operation_cancel_accepts_get_and_post(router: Router) -> None:
    assert route_of(router, "GET", "/operations/op1:cancel")[0] == "OperationService.Cancel"
    assert route_of(router, "POST", "/operations/op1:cancel")[0] == "OperationService.Cancel"


def test_unknown_path_and_wrong_verb(router: Router) -> None:
    with pytest.raises(NotFound):
        router.match("GET", "/nope")
    with pytest.raises(Unimplemented, match="use GET"):
        router.match("PUT", "/managed-redis/v1/resourcePresets")
    with pytest.raises(MethodNotAllowed) as caught:
        router.match("PUT", "/managed-redis/v1/clusters/c1")
    assert caught.value.allowed == ("DELETE", "GET", "PATCH")


def test_query_parameters_fill_get_requests(router: Router) -> None:
    route, params = router.match("GET", "/managed-redis/v1/clusters")
    request = build_request(route, params, [("folderId", "b1g"), ("page_size", "5"), ("filter", 'name="a"')], b"")
    assert request == cs.ListClustersRequest(folder_id="b1g", page_size=5, filter='name="a"')


def test_repeated_and_nested_query_parameters(router: Router) -> None:
    route, params = router.match("GET", "/managed-redis/v1/clusters/c1:logs")
    request = build_request(
        route,
        params,
        [
            ("columnFilter", "a"),
            ("columnFilter", "b"),
            ("alwaysNextPageToken", "true"),
            ("fromTime", "2024-01-01T00:00:00Z"),
        ],
        b"",
    )
    assert isinstance(request, cs.ListClusterLogsRequest)
    assert list(request.column_filter) == ["a", "b"]
    assert request.always_next_page_token is True
    assert request.from_time.seconds == 1704067200
    assert request.cluster_id == "c1"


def test_bad_query_parameters_are_named(router: Router) -> None:
    route, params = router.match("GET", "/managed-redis/v1/clusters")
    with pytest.raises(InvalidArgument, match="folderID: unknown query parameter"):
        build_request(route, params, [("folderID", "x")], b"")
    with pytest.raises(InvalidArgument, match="^page_size: must be an integer$"):
        build_request(route, params, [("pageSize", "lots")], b"")


def test_json_body_with_field_mask_and_custom_json_names(router: Router) -> None:
    route, params = router.match("PATCH", "/managed-redis/v1/clusters/c1")
    body = {
        "updateMask": "description,configSpec.redis.timeout",
        "description": "d",
        "configSpec": {"redis": {"timeout": "30"}},
        "clusterId": "ignored-path-wins",
    }
    request = build_request(route, params, [], json.dumps(body).encode())
    assert isinstance(request, cs.UpdateClusterRequest)
    assert request.cluster_id == "c1"
    assert list(request.update_mask.paths) == ["description", "config_spec.redis.timeout"]
    assert request.config_spec.redis.timeout.value == 30


def test_bad_bodies_are_invalid_argument(router: Router) -> None:
    route, params = router.match("POST", "/managed-redis/v1/clusters")
    with pytest.raises(InvalidArgument, match="not valid JSON"):
        build_request(route, params, [], b"{nope")
    with pytest.raises(InvalidArgument, match="^noSuchField: unknown field$"):
        build_request(route, params, [], b'{"noSuchField": 1}')
    with pytest.raises(InvalidArgument, match="JSON body"):
        build_request(route, params, [("folderId", "x")], b"{}")


def test_render_uses_camel_case_and_int64_strings() -> None:
    message = cs.ConfigSpec(
        redis=redis_pb2.RedisConfig(maxmemory_policy=redis_pb2.RedisConfig.MaxmemoryPolicy.ValueType(2))
    )
    message.redis.timeout.value = 7
    text = JsonRenderer().render(message)
    assert json.loads(text) == {"redis": {"maxmemoryPolicy": "ALLKEYS_LRU", "timeout": "7"}}


def test_render_of_a_list_is_the_json_of_each_element_and_stays_right_as_they_change() -> None:
    renderer = JsonRenderer()
    first = cs.ListClustersResponse(next_page_token="t")
    first.clusters.add(id="c1", name="one")
    first.clusters.add(id="c2", name="two")
    assert json.loads(renderer.render(first)) == json_format.MessageToDict(first)
    second = cs.ListClustersResponse()
    second.clusters.add(id="c1", name="renamed")
    second.clusters.add(id="c2", name="two")
    assert json.loads(renderer.render(second)) == {
        "clusters": [{"id": "c1", "name": "renamed"}, {"id": "c2", "name": "two"}]
    }


def test_render_of_a_message_with_a_list_beside_other_kinds_of_field_is_its_json() -> None:
    cluster = cluster_pb2.Cluster(id="c1", security_group_ids=["sg1", "sg2"], labels={"env": "test"})
    cluster.config.redis.user_config.timeout.value = 7
    cluster.monitoring.add(name="Hosts", link="/x")
    cluster.created_at.seconds = 1_700_000_000
    assert json.loads(JsonRenderer().render(cluster)) == json_format.MessageToDict(cluster)


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b'{"configSpec":' * 3000 + b"{}" + b"}" * 3000],
)
def test_deeply_nested_json_is_invalid_argument(router: Router, body: bytes) -> None:
    route, params = router.match("POST", "/managed-redis/v1/clusters")
    with pytest.raises(InvalidArgument, match="nests too deeply|unknown field"):
        build_request(route, params, [], body)


def test_a_number_too_long_to_read_is_invalid_argument(router: Router) -> None:
    route, params = router.match("POST", "/managed-redis/v1/clusters")
    with pytest.raises(InvalidArgument, match="number too long"):
        build_request(route, params, [], b'{"labels": ' + b"9" * 10_000 + b"}")


@pytest.mark.parametrize(
    ("value", "shown"),
    [(99, "99"), (1.5, "1.5"), (2**40, "1099511627776"), ("SOMETIMES", '"SOMETIMES"'), (True, "true")],
)
def test_unknown_enum_values_name_the_field(router: Router, value: object, shown: str) -> None:
    route, params = router.match("PATCH", "/managed-redis/v1/clusters/c1")
    body = json.dumps({"configSpec": {"redis": {"maxmemoryPolicy": value}}}).encode()
    with pytest.raises(InvalidArgument) as caught:
        build_request(route, params, [], body)
    assert [v.field for v in caught.value.violations] == ["config_spec.redis.maxmemory_policy"]
    assert caught.value.message.startswith(f"config_spec.redis.maxmemory_policy: {shown} is not a MaxmemoryPolicy")
    assert "NOEVICTION" in caught.value.message


def test_known_enum_names_and_numbers_are_taken(router: Router) -> None:
    route, params = router.match("PATCH", "/managed-redis/v1/clusters/c1")
    body = {"configSpec": {"redis": {"maxmemoryPolicy": "NOEVICTION"}}, "persistenceMode": 1}
    request = build_request(route, params, [], json.dumps(body).encode())
    assert isinstance(request, cs.UpdateClusterRequest)
    assert request.config_spec.redis.maxmemory_policy == redis_pb2.RedisConfig.NOEVICTION
    assert request.persistence_mode == cluster_pb2.Cluster.PersistenceMode.OFF
    with pytest.raises(InvalidArgument, match="^persistence_mode: 77 is not a PersistenceMode; use one of ON, OFF"):
        build_request(route, params, [], b'{"persistenceMode": 77}')


def test_wrong_json_types_name_the_field_in_plain_words(router: Router) -> None:
    route, params = router.match("PATCH", "/managed-redis/v1/clusters/c1")
    cases = {
        b'{"configSpec": 5}': "config_spec: has the wrong JSON type",
        b'{"configSpec": {"redis": {"timeout": "x"}}}': "config_spec.redis.timeout: must be an integer",
        b'{"description": 5}': "description: must be a string",
        b'{"configSpec": {"nope": 1}}': "config_spec.nope: unknown field",
    }
    for body, message in cases.items():
        with pytest.raises(InvalidArgument) as caught:
            build_request(route, params, [], body)
        assert caught.value.message == message
        assert "Traceback" not in caught.value.message and "int()" not in caught.value.message


@pytest.mark.parametrize("body", [b'{"\\ud800": 0}', b'{"description": "\\udfff"}', b'{"labels": {"\\ud83d": "x"}}'])
def test_a_lone_surrogate_is_invalid_argument(router: Router, body: bytes) -> None:
    route, params = router.match("POST", "/managed-redis/v1/changeFreezes")
    with pytest.raises(InvalidArgument, match="lone surrogate"):
        build_request(route, params, [], body)
