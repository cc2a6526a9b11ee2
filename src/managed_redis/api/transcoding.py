"""HTTP/JSON <-> protobuf, driven by each method's ``google.api.http`` rule.

``Router`` matches ``(verb, path)`` against the rules' path templates
(``/managed-redis/v1/clusters/{cluster_id}:start``). ``build_request`` fills the request
message: the JSON body for ``body: "*"`` rules, query parameters otherwise (lowerCamelCase
or snake_case names, ``a.b`` for nested fields, repeated keys for repeated fields, ``a.b``
repeated for a repeated message ``a``, its fields paired in order), path
variables last. Responses are written by ``json_rendering.JsonRenderer`` (proto3 JSON:
lowerCamelCase, int64 as strings, RFC 3339 times, defaults omitted).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from managed_redis.api.json_input import load_json, parse_into
from managed_redis.api.methods import Method
from managed_redis.errors import InvalidArgument, NotFound, Unimplemented

_VARIABLE = re.compile(r"\{([a-zA-Z0-9_.]+)(?:=([^}]*))?\}")


class MethodNotAllowed(Unimplemented):
    """The path is an API method's, the HTTP verb is not: HTTP 405 with an ``Allow`` header.

    The code stays UNIMPLEMENTED (12), as gRPC-JSON gateways answer a verb they do not route.
    """

    def __init__(self, verb: str, path: str, allowed: Sequence[str]) -> None:
        self.allowed = tuple(sorted(set(allowed)))
        super().__init__(f"{verb} is not supported on {path}; use {' or '.join(self.allowed)}")


@dataclass(frozen=True)
class Route:
    verb: str
    template: str
    regex: re.Pattern[str]
    variables: tuple[str, ...]
    body: str
    method: Method

    @property
    def specificity(self) -> tuple[int, int]:
        # A custom verb (":start") beats a bare variable that could swallow it; then longer literals win.
        literal = _VARIABLE.sub("", self.template)
        return (1 if re.search(r":[a-zA-Z_]+$", self.template) else 0, len(literal))


def compile_template(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    pattern, variables, position = "", [], 0
    for match in _VARIABLE.finditer(template):
        pattern += re.escape(template[position : match.start()])
        variables.append(match.group(1))
        pattern += "(.+)" if match.group(2) and "**" in match.group(2) else "([^/]+)"
        position = match.end()
    pattern += re.escape(template[position:])
    return re.compile(f"^{pattern}$"), tuple(variables)


def _verb_and_template(method: Method) -> Iterable[tuple[str, str, str]]:
    rule = method.http
    if rule is None:
        return
    rules = [rule, *rule.additional_bindings]
    for item in rules:
        kind = item.WhichOneof("pattern")
        if kind is None:
            continue
        if kind == "custom":
            yield item.custom.kind.upper(), item.custom.path, item.body
        else:
            yield kind.upper(), getattr(item, kind), item.body


class Router:
    def __init__(self, methods: Sequence[Method]) -> None:
        routes = []
        for method in methods:
            for verb, template, body in _verb_and_template(method):
                regex, variables = compile_template(template)
                routes.append(Route(verb, template, regex, variables, body, method))
                # The API reference documents POST for OperationService.Cancel; the proto says GET.
                if method.grpc_path == "/yandex.cloud.operation.OperationService/Cancel":
                    routes.append(Route("POST", template, regex, variables, body, method))
        self.routes = sorted(routes, key=lambda route: route.specificity, reverse=True)

    def match(self, verb: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route in self.routes:
            found = route.regex.match(path)
            if found is None:
                continue
            if route.verb != verb:
                allowed.append(route.verb)
                continue
            values = [urllib.parse.unquote(value) for value in found.groups()]
            return route, dict(zip(route.variables, values, strict=True))
        if allowed:
            raise MethodNotAllowed(verb, path, allowed)
        raise NotFound(f"no API method at {path}")


# -- requests ------------------------------------------------------------------------------


def build_request(route: Route, path_params: dict[str, str], query: Iterable[tuple[str, str]], body: bytes) -> Message:
    request = route.method.request_type()
    if route.body == "*":
        for key, _ in query:
            raise InvalidArgument.field(key, "this method takes its fields in the JSON body, not the query")
        _parse_body(request, body)
    else:
        tree = _query_tree(request.DESCRIPTOR, query)
        if route.body and body.strip():
            tree[route.body] = load_json(body)
        parse_into(request, tree)
    for path, value in path_params.items():
        _set_path(request, path, value)
    return request


def _parse_body(request: Message, body: bytes) -> None:
    if not body.strip():
        return
    data = load_json(body)
    if not isinstance(data, dict):
        raise InvalidArgument("request body must be a JSON object")
    parse_into(request, data)


def _field(descriptor: Any, name: str) -> Any:
    field = descriptor.fields_by_name.get(name)
    if field is not None:
        return field
    for candidate in descriptor.fields:
        if candidate.json_name == name:
            return candidate
    return None


def _query_tree(descriptor: Any, query: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Query parameters as the JSON object json_format would parse, typed by the descriptor."""
    tree: dict[str, Any] = {}
    for key, raw in query:
        node: dict[str, Any] = tree
        current: Any = descriptor
        parts = key.split(".")
        for depth, part in enumerate(parts):
            field = _field(current, part) if current is not None else None
            if field is None:
                raise InvalidArgument.field(key, "unknown query parameter")
            last = depth == len(parts) - 1
            if not last:
                if field.type != FieldDescriptor.TYPE_MESSAGE or _is_wellknown(field):
                    raise InvalidArgument.field(key, "unknown query parameter")
                current = field.message_type
                if field.is_repeated:
                    node = _element(node.setdefault(field.json_name, []), current, parts[depth + 1])
                else:
                    node = node.setdefault(field.json_name, {})
                continue
            value = _query_value(field, raw, key)
            if field.is_repeated:
                node.setdefault(field.json_name, []).append(value)
            else:
                node[field.json_name] = value
    return tree


def _element(items: list[dict[str, Any]], descriptor: Any, part: str) -> dict[str, Any]:
    """The element of a repeated message that ``<field>.<part>=`` fills: the last one, or a new
    one once the last has ``part`` (``resourcePath.id=a&resourcePath.type=t&resourcePath.id=b``
    is two elements, their fields paired in order). HTTP rules give repeated messages no query
    form (api.md §10.4); this is ours, for ``ChangeFreezeService.List``."""
    field = _field(descriptor, part)
    key = field.json_name if field is not None else part
    if not items or key in items[-1]:
        items.append({})
    return items[-1]


# Message types a query parameter holds as one scalar text (the gateway's rule; OpenAPI says so too).
QUERY_SCALAR_MESSAGES = (
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
    "google.protobuf.Int64Value",
    "google.protobuf.Int32Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.DoubleValue",
    "google.protobuf.FloatValue",
    "google.protobuf.StringValue",
    "google.protobuf.BoolValue",
)


def _is_wellknown(field: Any) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.full_name in QUERY_SCALAR_MESSAGES


def _query_value(field: Any, raw: str, key: str) -> Any:
    """A query string value in the JSON shape json_format expects for ``field``."""
    if field.type == FieldDescriptor.TYPE_BOOL or (
        _is_wellknown(field) and field.message_type.full_name == "google.protobuf.BoolValue"
    ):
        lowered = raw.lower()
        if lowered not in ("true", "false", "1", "0"):
            raise InvalidArgument.field(key, "must be true or false")
        return lowered in ("true", "1")
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        try:
            return float(raw)
        except ValueError:
            raise InvalidArgument.field(key, "must be a number") from None
    if field.type == FieldDescriptor.TYPE_MESSAGE and not _is_wellknown(field):
        raise InvalidArgument.field(key, "is a message; set its fields as key.field=value")
    return raw


def _set_path(request: Message, path: str, value: str) -> None:
    *parents, leaf = path.split(".")
    target = request
    for name in parents:
        target = getattr(target, name)
    field = target.DESCRIPTOR.fields_by_name[leaf]
    if field.type == FieldDescriptor.TYPE_STRING:
        setattr(target, leaf, value)
    else:
        parse_into(target, {field.json_name: value})
