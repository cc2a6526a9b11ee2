"""JSON Schemas of protobuf messages in the API's JSON, for the OpenAPI document.

``SchemaBook`` turns message and enum descriptors into OpenAPI 3.1 component schemas the way
``google.protobuf.json_format`` writes and reads them (the proto3 JSON mapping,
https://protobuf.dev/programming-guides/json/): lowerCamelCase property names, 64-bit
integers as strings, enums by name, Timestamp as an RFC 3339 ``date-time`` string, Duration
as ``"1.5s"``, wrappers as their value, Struct/Value/ListValue as plain JSON, Any as an
object with ``@type``. Each message and enum is one component (``#/components/schemas/<full
name>``), so a recursive message is a ``$ref`` to itself. The ``yandex.cloud`` validation
options become ``required``, ``minLength``/``maxLength``, ``pattern``, ``minimum``/``maximum``
and ``minItems``/``maxItems``, read by ``validation.py``'s own readers. Responses omit default
values, so ``required`` is given only on messages no response carries; those are also closed
(``additionalProperties: false``), as the gateway refuses unknown fields.

Only keywords OpenAPI 3.0 reads the same way are used, so the document also serves as 3.0
for viewers that know only that version (see ``openapi.as_openapi_30``).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from yandex.cloud import validation_pb2

from managed_redis.api.validation import is_required, option_text, parse_bound

Schema = dict[str, Any]
REF_PREFIX = "#/components/schemas/"
TYPE_URL_PREFIX = "type.googleapis.com/"

_INT64 = {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}
_UINT64 = {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"}
_SCALARS: dict[int, Schema] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: _UINT64,
    FieldDescriptor.TYPE_FIXED64: _UINT64,
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int32", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "int32", "minimum": 0},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}

# The well-known types json_format writes as something other than an object of their fields.
WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$", "example": "1.5s"},
    "google.protobuf.FieldMask": {"type": "string", "description": "comma-separated lowerCamelCase field paths"},
    "google.protobuf.DoubleValue": {"type": "number", "format": "double"},
    "google.protobuf.FloatValue": {"type": "number", "format": "float"},
    "google.protobuf.Int64Value": _INT64,
    "google.protobuf.UInt64Value": _UINT64,
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    "google.protobuf.UInt32Value": {"type": "integer", "format": "int32", "minimum": 0},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {"description": "any JSON value"},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object", "properties": {}},
    "google.protobuf.Any": {
        "type": "object",
        "required": ["@type"],
        "properties": {"@type": {"type": "string", "description": "type.googleapis.com/<message full name>"}},
        "additionalProperties": True,
    },
}
# Well-known types json_format writes inside an Any under "value" (all but Empty, whose
# fields, none, sit beside "@type" as any message's do).
_VALUE_IN_ANY = frozenset(WELL_KNOWN) - {"google.protobuf.Empty"}


def ref(name: str) -> Schema:
    return {"$ref": REF_PREFIX + name}


class SchemaBook:
    """The component schemas of every message and enum asked for, and of what they hold.

    ``responses`` names the messages (with everything they hold) that answers carry: those
    get no ``required`` and stay open to fields a later version adds.
    """

    def __init__(self, responses: set[str]) -> None:
        self.responses = responses
        self.schemas: dict[str, Schema] = {}

    def message(self, descriptor: Descriptor) -> Schema:
        """A schema for ``descriptor``: inline for a well-known type, else a ``$ref``."""
        name = descriptor.full_name
        if name in WELL_KNOWN:
            return dict(WELL_KNOWN[name])
        if name not in self.schemas:
            self.schemas[name] = {}  # taken first: a message that holds itself refers to it
            self.schemas[name] = self._object(descriptor)
        return ref(name)

    def enum(self, descriptor: EnumDescriptor) -> Schema:
        name = descriptor.full_name
        if name == "google.protobuf.NullValue":
            return {"description": "null"}
        if name not in self.schemas:
            self.schemas[name] = {"type": "string", "enum": [value.name for value in descriptor.values]}
        return ref(name)

    def typed_any(self, descriptor: Descriptor) -> Schema:
        """An ``Any`` known to hold ``descriptor``, as json_format writes it."""
        type_field = {"@type": {"type": "string", "enum": [TYPE_URL_PREFIX + descriptor.full_name]}}
        if descriptor.full_name in _VALUE_IN_ANY:
            return {
                "type": "object",
                "required": ["@type", "value"],
                "properties": {**type_field, "value": self.message(descriptor)},
            }
        marker = {"type": "object", "required": ["@type"], "properties": type_field}
        return {"allOf": [self.message(descriptor), marker]}

    def field(self, field: Any, *, for_request: bool = True) -> Schema:
        """The schema of one field's JSON value, with its validation rules."""
        if is_map(field):
            entry = field.message_type
            return {"type": "object", "additionalProperties": self._single(entry.fields_by_name["value"])}
        single = self._single(field)
        options = field.GetOptions()
        if field.is_repeated:
            schema: Schema = {"type": "array", "items": _with_rules(single, field, options)}
            if for_request:
                size = option_text(options, validation_pb2.size)
                if size:
                    schema.update(_bounds(size, "minItems", "maxItems"))
                if options.HasExtension(validation_pb2.unique) and options.Extensions[validation_pb2.unique]:
                    schema["uniqueItems"] = True
            return schema
        return _with_rules(single, field, options) if for_request else single

    def _single(self, field: Any) -> Schema:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            return self.message(field.message_type)
        if field.type == FieldDescriptor.TYPE_ENUM:
            return self.enum(field.enum_type)
        return dict(_SCALARS[field.type])

    def _object(self, descriptor: Descriptor) -> Schema:
        is_request = descriptor.full_name not in self.responses
        properties = {field.json_name: self.field(field, for_request=is_request) for field in descriptor.fields}
        schema: Schema = {"type": "object", "properties": properties}
        if is_request:
            required = [field.json_name for field in descriptor.fields if is_required(field.GetOptions())]
            if required:
                schema["required"] = required
            schema["additionalProperties"] = False
        return schema


def reachable(descriptors: list[Descriptor]) -> set[str]:
    """The full names of ``descriptors`` and of every message they hold, however deep."""
    names: set[str] = set()
    pending = list(descriptors)
    while pending:
        descriptor = pending.pop()
        if descriptor.full_name in names:
            continue
        names.add(descriptor.full_name)
        pending.extend(field.message_type for field in descriptor.fields if field.message_type is not None)
    return names


def is_map(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated and field.message_type is not None and field.message_type.GetOptions().map_entry)


def _with_rules(schema: Schema, field: FieldDescriptor, options: Any) -> Schema:
    """``schema`` with the field's ``length``/``pattern``/``value`` rules where its JSON type takes them.

    The validator applies a string's rules only once it is non-empty (an empty optional
    string is "not set"), so an optional field's pattern also lets the empty string through.
    """
    if "$ref" in schema:
        return schema
    kind = schema.get("type")
    rules: Schema = {}
    if kind == "string" and "format" not in schema:
        length = option_text(options, validation_pb2.length)
        if length:
            rules.update(_bounds(length, "minLength", "maxLength"))
        pattern = option_text(options, validation_pb2.pattern)
        if pattern:
            rules["pattern"] = f"^(?:{pattern})$" if is_required(options) else f"^(?:(?:{pattern})|)$"
        if not is_required(options):
            rules.pop("minLength", None)
    value = option_text(options, validation_pb2.value)
    if value and kind in ("integer", "number"):
        rules.update(_bounds(value, "minimum", "maximum"))
    elif value:
        rules["description"] = f"a value {value}"
    return {**schema, **rules} if rules else schema


def _bounds(text: str, low_key: str, high_key: str) -> Schema:
    bound = parse_bound(text)
    limits: Schema = {}
    if bound.low is not None and (bound.low > 0 or low_key == "minimum"):
        limits[low_key] = int(bound.low)
    if bound.high is not None:
        limits[high_key] = int(bound.high)
    return limits
