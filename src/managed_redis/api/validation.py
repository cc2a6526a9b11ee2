"""Checks a request against the ``yandex.cloud`` validation options of its descriptor.

One generic walk, for every method: ``required``, ``length``, ``pattern``, ``value``,
``size``, ``unique``, ``map_key`` on fields and ``exactly_one`` on oneofs (grammar in
api.md §3); and every enum field holds a value its enum declares (proto3 lets any number
through the wire and JSON, and a number no code knows must not reach a config file).
Every violation is collected and reported at once as INVALID_ARGUMENT whose message names
each field by its path (``host_specs[1].zone_id: required``). Values are never echoed
back (but an unknown enum number), so a bad password does not end up in a message or a log.
Semantic checks (known zones, topology limits, states) belong to the service layer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from yandex.cloud import validation_pb2

from managed_redis.errors import FieldViolation, InvalidArgument

_WRAPPERS = frozenset(
    f"google.protobuf.{name}"
    for name in (
        "Int64Value",
        "UInt64Value",
        "Int32Value",
        "UInt32Value",
        "DoubleValue",
        "FloatValue",
        "StringValue",
        "BoolValue",
        "BytesValue",
    )
)
_NUMERIC = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_DOUBLE,
        FieldDescriptor.TYPE_FLOAT,
    }
)


@dataclass(frozen=True)
class Bound:
    """A parsed range expression: ``0-1000``, ``-5-2048``, ``<=50``, ``>0``, ``>=10``, ``8``."""

    text: str
    low: float | None
    high: float | None

    def holds(self, number: float) -> bool:
        return (self.low is None or number >= self.low) and (self.high is None or number <= self.high)


_RANGE = re.compile(r"^\s*(-?\d+)\s*-\s*(-?\d+)\s*$")
_COMPARISON = re.compile(r"^\s*(<=|>=|<|>|==|=)?\s*(-?\d+)\s*$")


@functools.cache
def parse_bound(text: str) -> Bound:
    if match := _RANGE.match(text):
        return Bound(text, float(match.group(1)), float(match.group(2)))
    if match := _COMPARISON.match(text):
        op, number = match.group(1) or "==", float(match.group(2))
        low, high = {
            "<=": (None, number),
            "<": (None, number - 1),
            ">=": (number, None),
            ">": (number + 1, None),
        }.get(op, (number, number))
        return Bound(text, low, high)
    raise ValueError(f"unsupported bound {text!r}")


def _describe(bound: Bound) -> str:
    return f"in {bound.text}" if "-" in bound.text.lstrip("-") else bound.text.replace(" ", "")


@functools.cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def validate(message: Message) -> None:
    """Raise InvalidArgument listing every violation in ``message``; return if there is none."""
    violations = list(_walk(message, ""))
    if violations:
        raise InvalidArgument.fields(violations)


def _walk(message: Message, prefix: str) -> Iterable[FieldViolation]:
    descriptor: Any = message.DESCRIPTOR
    for field in descriptor.fields:
        yield from _check_field(message, field, f"{prefix}{field.name}")
    for oneof in descriptor.oneofs:
        yield from _check_oneof(message, oneof, prefix)


def _check_oneof(message: Message, oneof: Any, prefix: str) -> Iterable[FieldViolation]:
    options = oneof.GetOptions()
    exactly_one = options.HasExtension(validation_pb2.exactly_one) and options.Extensions[validation_pb2.exactly_one]
    if exactly_one and message.WhichOneof(oneof.name) is None:
        names = ", ".join(field.name for field in oneof.fields)
        yield FieldViolation(f"{prefix}{oneof.name}", f"exactly one of {names} must be set")


def _is_map(field: Any) -> bool:
    return bool(
        field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry and field.is_repeated
    )


def _check_field(message: Message, field: Any, path: str) -> Iterable[FieldViolation]:
    options = field.GetOptions()
    value = getattr(message, field.name)
    repeated = field.is_repeated

    if is_required(options) and not _is_set(message, field, value):
        yield FieldViolation(path, "required")
        return

    if _is_map(field):
        yield from _check_map(field, value, path, options)
        return

    if repeated:
        if options.HasExtension(validation_pb2.size):
            bound = parse_bound(options.Extensions[validation_pb2.size])
            if not bound.holds(len(value)):
                yield FieldViolation(path, f"number of elements must be {_describe(bound)}")
        if options.HasExtension(validation_pb2.unique) and options.Extensions[validation_pb2.unique]:
            items = [
                item.SerializeToString(deterministic=True) if isinstance(item, Message) else item for item in value
            ]
            if len(set(items)) != len(items):
                yield FieldViolation(path, "elements must be unique")
        for index, item in enumerate(value):
            yield from _check_value(field, item, f"{path}[{index}]", options)
        return

    if field.type == FieldDescriptor.TYPE_MESSAGE and not message.HasField(field.name):
        return
    yield from _check_value(field, value, path, options)


def _check_map(field: Any, value: object, path: str, options: object) -> Iterable[FieldViolation]:
    entries = dict(value)  # type: ignore[call-overload]
    if options.HasExtension(validation_pb2.size):  # type: ignore[attr-defined]
        bound = parse_bound(options.Extensions[validation_pb2.size])  # type: ignore[attr-defined]
        if not bound.holds(len(entries)):
            yield FieldViolation(path, f"number of entries must be {_describe(bound)}")
    key_spec = (
        options.Extensions[validation_pb2.map_key]  # type: ignore[attr-defined]
        if options.HasExtension(validation_pb2.map_key)  # type: ignore[attr-defined]
        else None
    )
    value_field = field.message_type.fields_by_name["value"]
    for key, item in entries.items():
        entry_path = f"{path}[{key!r}]" if isinstance(key, str) else f"{path}[{key}]"
        if key_spec is not None:
            yield from _check_scalar_rules(str(key), entry_path + " key", key_spec.length, key_spec.pattern)
        yield from _check_value(value_field, item, entry_path, options)


def _check_value(field: Any, value: object, path: str, options: object) -> Iterable[FieldViolation]:
    if isinstance(value, Message):
        full_name = value.DESCRIPTOR.full_name
        if full_name in _WRAPPERS:
            yield from _check_value(value.DESCRIPTOR.fields_by_name["value"], value.value, path, options)  # type: ignore[attr-defined]
            return
        yield from _walk(value, f"{path}.")
        return
    if field.type == FieldDescriptor.TYPE_ENUM:
        yield from _check_enum(field, value, path)
        return
    length = option_text(options, validation_pb2.length)
    pattern = option_text(options, validation_pb2.pattern)
    # An empty string of an optional field is "not set": its rules apply only once it is.
    if isinstance(value, str) and value:
        yield from _check_scalar_rules(value, path, length, pattern)
    numeric_bound = option_text(options, validation_pb2.value)
    if numeric_bound and field.type in _NUMERIC and isinstance(value, int | float):
        bound = parse_bound(numeric_bound)
        if not bound.holds(value):
            yield FieldViolation(path, f"must be {_describe(bound)}")


def _check_enum(field: Any, value: object, path: str) -> Iterable[FieldViolation]:
    if value not in field.enum_type.values_by_number:
        names = ", ".join(item.name for item in field.enum_type.values if not item.name.endswith("UNSPECIFIED"))
        yield FieldViolation(path, f"{value} is not a {field.enum_type.name}; use one of {names}")


def _check_scalar_rules(value: str, path: str, length: str, pattern: str) -> Iterable[FieldViolation]:
    if length:
        bound = parse_bound(length)
        if not bound.holds(len(value)):
            yield FieldViolation(path, f"length must be {_describe(bound)}")
    if pattern and not _pattern(pattern).fullmatch(value):
        yield FieldViolation(path, f"must match {pattern}")


def option_text(options: object, extension: object) -> str:
    """The value of a ``yandex.cloud`` validation option (``length``, ``pattern``, ``value``,
    ``size``...) on a field's options, as text; "" when the field does not carry it."""
    if options.HasExtension(extension):  # type: ignore[attr-defined]
        return str(options.Extensions[extension])  # type: ignore[attr-defined]
    return ""


def is_required(options: object) -> bool:
    """Whether a field's options carry ``yandex.cloud.required`` set."""
    return bool(
        options.HasExtension(validation_pb2.required)  # type: ignore[attr-defined]
        and options.Extensions[validation_pb2.required]  # type: ignore[attr-defined]
    )


def _is_set(message: Message, field: Any, value: object) -> bool:
    if field.is_repeated:
        return len(value) > 0  # type: ignore[arg-type]
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message.HasField(field.name)
    return bool(value)
