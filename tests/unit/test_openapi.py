"""Unit: the OpenAPI document generated from the method table (api/openapi.py).

It validates as OpenAPI 3.1 (and, declared 3.0.3, as 3.0 for the Swagger UI page); every
route the gateway answers is in it with its verb and parameters; its schemas describe the
JSON the gateway writes and reads (int64 as string, enums by name, Timestamp as date-time,
camelCase names, validation rules).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from managed_redis.api.methods import build_method_table
from managed_redis.api.openapi import as_openapi_30, build_document
from managed_redis.api.transcoding import Router

METHODS = build_method_table({})
ROUTES = Router(METHODS).routes
DOCUMENT = build_document(METHODS)
SCHEMAS = DOCUMENT["components"]["schemas"]
REDIS = "yandex.cloud.mdb.redis.v1"


def _operation(verb: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = DOCUMENT["paths"][path][verb]
    return operation


def _parameters(operation: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in operation.get("parameters", []) if item["in"] == where}


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = SCHEMAS[name]
    return schema


def test_the_document_is_valid_openapi_31_and_as_30() -> None:
    assert DOCUMENT["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(DOCUMENT).validate()
    OpenAPIV30SpecValidator(as_openapi_30(DOCUMENT)).validate()


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.verb} {route.template}")
def test_every_route_is_there_with_its_verb_and_path_parameters(route: Any) -> None:
    path = re.sub(r"\{([^}=]+)(=[^}]*)?\}", r"{\1}", route.template)
    operation = _operation(route.verb.lower(), path)
    assert operation["operationId"].startswith(route.method.name)
    assert list(_parameters(operation, "path")) == list(route.variables)
    assert all(item["required"] for item in _parameters(operation, "path").values())
    assert ("requestBody" in operation) == bool(route.body)
    if route.body == "*":
        assert not _parameters(operation, "query"), "a body:* route takes no query"
    assert (operation.get("security") == []) == route.method.public


def test_nothing_but_the_routes_is_there() -> None:
    documented = {(verb, path) for path, item in DOCUMENT["paths"].items() for verb in item}
    assert len(documented) == len(ROUTES)
    ids = [op["operationId"] for item in DOCUMENT["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_query_parameters_are_the_fields_not_in_the_path_camel_case_with_required_ones() -> None:
    listing = _parameters(_operation("get", "/managed-redis/v1/clusters"), "query")
    assert set(listing) == {"folderId", "pageSize", "pageToken", "filter"}
    assert listing["folderId"]["required"] is True
    assert listing["pageSize"]["schema"]["type"] == "string"  # int64
    hosts = _parameters(_operation("get", "/managed-redis/v1/clusters/{cluster_id}/hosts"), "query")
    assert "clusterId" not in hosts and "pageToken" in hosts


def test_a_repeated_message_in_the_query_is_repeated_dotted_keys() -> None:
    query = _parameters(_operation("get", "/managed-redis/v1/changeFreezes"), "query")
    for key in ("resourcePath.id", "resourcePath.type"):
        assert query[key]["schema"]["type"] == "array"
        assert query[key]["explode"] is True


def test_a_body_route_takes_the_request_less_its_path_fields() -> None:
    update = _operation("patch", "/managed-redis/v1/clusters/{cluster_id}")
    body = update["requestBody"]["content"]["application/json"]["schema"]
    assert "clusterId" not in body["properties"] and "updateMask" in body["properties"]
    assert body["properties"]["updateMask"] == {
        "type": "string",
        "description": "comma-separated lowerCamelCase field paths",
    }
    create = _operation("post", "/managed-redis/v1/clusters")["requestBody"]["content"]["application/json"]["schema"]
    assert "folderId" in create["required"]
    assert create["additionalProperties"] is False
    assert create["properties"]["name"]["maxLength"] == 63


def test_scalars_are_written_as_json_format_writes_them() -> None:
    cluster = _schema(f"{REDIS}.Cluster")["properties"]
    assert "folderId" in cluster and "folder_id" not in cluster  # lowerCamelCase
    assert cluster["createdAt"] == {"type": "string", "format": "date-time"}
    assert cluster["environment"] == {"$ref": f"#/components/schemas/{REDIS}.Cluster.Environment"}
    assert "PRODUCTION" in _schema(f"{REDIS}.Cluster.Environment")["enum"]
    assert _schema(f"{REDIS}.Cluster.Environment")["type"] == "string"
    resources = _schema(f"{REDIS}.Resources")["properties"]
    assert resources["diskSize"]["type"] == "string" and resources["diskSize"]["format"] == "int64"
    assert cluster["labels"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert "required" not in _schema(f"{REDIS}.Cluster"), "answers omit default values"


def test_wrappers_are_their_value_and_ranges_come_from_the_options() -> None:
    redis_config = _schema(f"{REDIS}.config.RedisConfig")["properties"]
    assert redis_config["databases"]["type"] == "string"  # Int64Value: a string, its range told in words
    listing = _parameters(_operation("get", "/managed-redis/v1/clusters/{cluster_id}:logs"), "query")
    assert listing["fromTime"]["schema"]["format"] == "date-time"


def test_a_long_running_method_answers_its_typed_operation() -> None:
    answer = _operation("post", "/managed-redis/v1/clusters")["responses"]["200"]["content"]["application/json"]
    name = answer["schema"]["$ref"].rsplit("/", 1)[1]
    typed = _schema(name)["allOf"][1]["properties"]
    assert typed["metadata"]["allOf"][0] == {"$ref": f"#/components/schemas/{REDIS}.CreateClusterMetadata"}
    assert typed["response"]["allOf"][1]["properties"]["@type"]["enum"] == [f"type.googleapis.com/{REDIS}.Cluster"]
    deleted = _operation("delete", "/managed-redis/v1/clusters/{cluster_id}")["responses"]["200"]
    typed_delete = _schema(deleted["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1])
    empty = typed_delete["allOf"][1]["properties"]["response"]["allOf"]
    assert empty[1]["properties"]["@type"]["enum"] == ["type.googleapis.com/google.protobuf.Empty"]


def test_errors_are_google_rpc_status_and_a_stream_is_an_array() -> None:
    for item in DOCUMENT["paths"].values():
        for operation in item.values():
            error = operation["responses"]["default"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/google.rpc.Status"}
    status = _schema("google.rpc.Status")["properties"]
    assert set(status) == {"code", "message", "details"}
    stream = _operation("get", "/managed-redis/v1/clusters/{cluster_id}:stream_logs")["responses"]["200"]
    assert stream["content"]["application/json"]["schema"]["type"] == "array"


def test_bearer_auth_everywhere_but_discovery() -> None:
    assert DOCUMENT["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert DOCUMENT["security"] == [{"bearerAuth": []}]
    assert _operation("get", "/endpoints")["security"] == []
    assert "security" not in _operation("get", "/managed-redis/v1/clusters")
