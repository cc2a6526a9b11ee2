"""The OpenAPI 3.1 document of the REST API, generated from the method table the gateway routes.

Every route of ``transcoding.Router`` (each method's ``google.api.http`` rule) is one
operation: its path variables are path parameters; a ``body: "*"`` rule takes the rest of the
request as its JSON body, a ``body: "<field>"`` rule that field; every other field is a
query parameter as ``transcoding.build_request`` reads it (``a.b`` for a nested message's
field, a repeated key for a repeated field). Answers are the response message in the
API's JSON (``openapi_schemas``), a long-running method's Operation with its ``metadata`` and
``response`` typed by the method's ``yandex.cloud.api.operation`` option, a server-streaming
method's JSON array, and any error a ``google.rpc.Status``. Every call takes a bearer token
but those of ``methods.PUBLIC_SERVICES`` (endpoint discovery, IAM tokens).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor
from google.rpc import status_pb2
from yandex.cloud.api import operation_pb2

import managed_redis
from managed_redis.api.methods import Method
from managed_redis.api.openapi_schemas import WELL_KNOWN, Schema, SchemaBook, is_map, reachable, ref
from managed_redis.api.transcoding import QUERY_SCALAR_MESSAGES, Route, Router
from managed_redis.api.validation import is_required

OPENAPI_VERSION = "3.1.0"
TITLE = "Managed Service for Redis API (managed-redis/v1)"
BEARER = "bearerAuth"
_OPERATION = "yandex.cloud.operation.Operation"
_STATUS = "google.rpc.Status"
_VARIABLE = re.compile(r"\{([a-zA-Z0-9_.]+)(?:=[^}]*)?\}")


def build_document(methods: Sequence[Method]) -> dict[str, Any]:
    """The OpenAPI 3.1 document (a JSON-ready dict) of every REST route of ``methods``."""
    routes = sorted(Router(methods).routes, key=lambda route: (route.template, route.verb))
    answers = [route.method.descriptor.output_type for route in routes]
    answers += [typed for route in routes for typed in _operation_types(route.method) if typed is not None]
    book = SchemaBook(reachable([*answers, status_pb2.Status.DESCRIPTOR]))
    verbs_of: dict[str, int] = {}
    for route in routes:
        verbs_of[route.method.name] = verbs_of.get(route.method.name, 0) + 1
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation_id = route.method.name if verbs_of[route.method.name] == 1 else f"{route.method.name}.{route.verb}"
        path = _VARIABLE.sub(lambda match: "{" + match.group(1) + "}", route.template)
        paths.setdefault(path, {})[route.verb.lower()] = _operation(book, route, operation_id)
    book.message(status_pb2.Status.DESCRIPTOR)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": TITLE,
            "version": managed_redis.__version__,
            "description": "Generated from the API's protobuf descriptors (the `yandexcloud` package); "
            "the JSON is proto3 JSON: lowerCamelCase names, 64-bit integers as strings, enums by name, "
            "RFC 3339 timestamps, default values omitted.",
        },
        "tags": [{"name": name} for name in sorted({route.method.service.name for route in routes})],
        "security": [{BEARER: []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(book.schemas.items())),
            "securitySchemes": {BEARER: {"type": "http", "scheme": "bearer"}},
        },
    }


def as_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """The same document declared as OpenAPI 3.0.3, for viewers that read no 3.1 (Swagger UI 4).

    ``openapi_schemas`` uses only keywords both versions read alike, so the version is all
    that differs.
    """
    older = copy.deepcopy(document)
    older["openapi"] = "3.0.3"
    return older


def _operation(book: SchemaBook, route: Route, operation_id: str) -> dict[str, Any]:
    method = route.method
    request = method.descriptor.input_type
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [method.service.name],
        "summary": method.name,
        "description": f"gRPC: `{method.grpc_path}`",
    }
    path_fields = {variable.split(".")[0] for variable in route.variables}
    parameters = [_path_parameter(book, request, variable) for variable in route.variables]
    if route.body != "*":
        skip = set(route.variables) | ({route.body} if route.body else set())
        parameters += list(_query_parameters(book, request, skip, "", "", False, frozenset()))
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        operation["requestBody"] = _request_body(book, request, route.body, path_fields)
    operation["responses"] = {
        "200": {"description": "the response", "content": {"application/json": {"schema": _answer(book, method)}}},
        "default": {
            "description": "an error (google.rpc.Status)",
            "content": {"application/json": {"schema": ref(_STATUS)}},
        },
    }
    if method.public:
        operation["security"] = []
    return operation


def _field_at(descriptor: Any, path: str) -> Any:
    *parents, leaf = path.split(".")
    for name in parents:
        descriptor = descriptor.fields_by_name[name].message_type
    return descriptor.fields_by_name[leaf]


def _path_parameter(book: SchemaBook, request: Descriptor, variable: str) -> Schema:
    schema = book.field(_field_at(request, variable))
    schema.pop("pattern", None)  # a path segment is never empty; the optional-empty form would mislead
    return {"name": variable, "in": "path", "required": True, "schema": schema}


def _query_parameters(
    book: SchemaBook,
    descriptor: Descriptor,
    skip: set[str],
    prefix: str,
    key_prefix: str,
    in_list: bool,
    seen: frozenset[str],
) -> Iterable[Schema]:
    """Query parameters for the fields of ``descriptor`` (``a.b`` keys for nested messages;
    under a repeated message every key repeats, its values paired in order)."""
    for field in descriptor.fields:
        path, key = prefix + field.name, key_prefix + field.json_name
        if path in skip or is_map(field):
            continue
        message = field.message_type
        if message is not None and message.full_name not in QUERY_SCALAR_MESSAGES:
            if message.full_name not in WELL_KNOWN and message.full_name not in seen:
                nested_seen = seen | {message.full_name}
                yield from _query_parameters(
                    book, message, skip, path + ".", key + ".", in_list or field.is_repeated, nested_seen
                )
            continue
        schema = book.field(field)
        if in_list and not field.is_repeated:
            schema = {"type": "array", "items": schema}
        parameter: Schema = {"name": key, "in": "query", "schema": schema}
        if schema.get("type") == "array":
            parameter.update(style="form", explode=True)
        if not prefix and is_required(field.GetOptions()):
            parameter["required"] = True
        yield parameter


def _request_body(book: SchemaBook, request: Descriptor, body: str, path_fields: set[str]) -> Schema:
    if body == "*":
        # The request less its path fields, which the path sets.
        book.message(request)
        target = book.schemas[request.full_name]
        in_path = {request.fields_by_name[field].json_name for field in path_fields}
        schema = {**target, "properties": {k: v for k, v in target["properties"].items() if k not in in_path}}
        required = [name for name in target.get("required", []) if name not in in_path]
        schema.pop("required", None)
        if required:
            schema["required"] = required
    else:
        schema = book.field(request.fields_by_name[body])
    return {"required": bool(schema.get("required")), "content": {"application/json": {"schema": schema}}}


def _answer(book: SchemaBook, method: Method) -> Schema:
    output = method.descriptor.output_type
    if output.full_name == _OPERATION:
        metadata, response = _operation_types(method)
        if metadata is not None or response is not None:
            return _typed_operation(book, method, metadata, response)
    item = book.message(output)
    if method.server_streaming:
        error = {"type": "object", "required": ["error"], "properties": {"error": ref(_STATUS)}}
        return {"type": "array", "items": {"anyOf": [item, error]}}
    return item


def _typed_operation(
    book: SchemaBook, method: Method, metadata: Descriptor | None, response: Descriptor | None
) -> Schema:
    """The Operation of ``method``: its ``metadata`` and (once done) ``response`` Anys hold
    the types the method's operation option names."""
    name = f"{_OPERATION}.{method.name}"
    if name not in book.schemas:
        typed: dict[str, Schema] = {}
        if metadata is not None:
            typed["metadata"] = book.typed_any(metadata)
        if response is not None:
            typed["response"] = book.typed_any(response)
        book.schemas[name] = {"allOf": [book.message(method.descriptor.output_type), {"properties": typed}]}
    return ref(name)


def _operation_types(method: Method) -> tuple[Descriptor | None, Descriptor | None]:
    options = method.descriptor.GetOptions()
    if not options.HasExtension(operation_pb2.operation):
        return None, None
    annotation = options.Extensions[operation_pb2.operation]
    package = method.service.file.package
    return _resolve(annotation.metadata, package), _resolve(annotation.response, package)


def _resolve(name: str, package: str) -> Descriptor | None:
    """The message ``name`` refers to from ``package``, by protobuf's scoping (innermost first)."""
    if not name:
        return None
    pool = descriptor_pool.Default()
    scopes = package.split(".") if package else []
    for depth in range(len(scopes), -1, -1):
        candidate = ".".join([*scopes[:depth], name])
        try:
            return pool.FindMessageTypeByName(candidate)
        except KeyError:
            continue
    return None
