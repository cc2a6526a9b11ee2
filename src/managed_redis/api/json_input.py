"""JSON from callers into request messages, refusing what proto3 JSON parsing lets through.

``load_json`` reads a body: anything that is not JSON, nests deeper than Python can
follow, holds a lone surrogate or a number too long to convert is INVALID_ARGUMENT, never
an exception from the parser. ``parse_into`` fills a message with ``json_format.ParseDict`` after one
walk of the data along the message's descriptor: an enum field takes only a name or a
number its enum declares (``ParseDict`` keeps any number, wraps 2**40 to 0 and truncates
1.5 to 1). Every failure is an INVALID_ARGUMENT whose violation names the field by its
proto path (``config_spec.redis.maxmemory_policy``), as the validator does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from managed_redis.errors import InvalidArgument

# json_format's messages: "Failed to parse a field: … <reason> at Request.a.b." and, for an
# unknown field, 'Message type "X" has no field named "b" at "Request.a".\n Available …'.
_NESTED = re.compile(r"^(?:Failed to parse \w+ field: )+")
_FIELD_NAME = re.compile(r"Failed to parse (\w+) field: ")
_AT = re.compile(r' at "?([A-Za-z0-9_.\[\]]+?)"?\.?$')
_NO_FIELD = re.compile(r'has no field named "([^"]+)"')
_PLAIN = (
    ("for int()", "must be an integer"),
    ("parse integer", "must be an integer"),
    ("int() argument", "must be an integer"),
    ("for float", "must be a number"),
    ("parse float", "must be a number"),
    ("expected string or bytes", "must be a string"),
    ("Value out of range", "is out of range"),
    ("not iterable", "has the wrong JSON type"),
    ("has no attribute", "has the wrong JSON type"),
)


def load_json(body: bytes) -> Any:
    """The JSON value of ``body``; InvalidArgument if it is not UTF-8 JSON Python can hold."""
    try:
        data = json.loads(body.decode("utf-8"))
        # JSON may spell a lone surrogate ("\ud800"), which is no text: protobuf's own
        # lookups fail on it deep inside. Encoding the value back finds any, at C speed.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument("request body is not UTF-8 text") from None
    except UnicodeEncodeError:
        raise InvalidArgument("request body holds a lone surrogate (\\ud800-\\udfff), which is not text") from None
    except RecursionError:
        raise InvalidArgument("request body nests too deeply") from None
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"request body is not valid JSON: {exc.msg} at character {exc.pos}") from None
    except ValueError:  # an integer of more than sys.get_int_max_str_digits() digits
        raise InvalidArgument("request body holds a number too long to read") from None
    return data


def parse_into(message: Message, data: dict[str, Any]) -> None:
    """Fill ``message`` from proto3 JSON ``data``; InvalidArgument naming the first bad field."""
    _check_enums(message.DESCRIPTOR, data, "")
    try:
        json_format.ParseDict(data, message, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise _violation(message.DESCRIPTOR, str(exc)) from None
    except RecursionError:
        raise InvalidArgument("request nests too deeply") from None


def _json_field(descriptor: Any, key: str) -> Any:
    field = descriptor.fields_by_name.get(key)
    if field is not None:
        return field
    return next((candidate for candidate in descriptor.fields if candidate.json_name == key), None)


def _is_map(field: Any) -> bool:
    entry = field.message_type
    return entry is not None and bool(entry.GetOptions().map_entry)


def _check_enums(descriptor: Any, data: Any, prefix: str) -> None:
    if not isinstance(data, dict) or descriptor.full_name.startswith("google.protobuf."):
        return
    for key, value in data.items():
        field = _json_field(descriptor, key) if isinstance(key, str) else None
        if field is None or value is None:
            continue  # json_format reports unknown fields itself
        path = f"{prefix}{field.name}"
        if _is_map(field):
            entry = field.message_type.fields_by_name["value"]
            if isinstance(value, dict):
                for item_key, item in value.items():
                    _check_value(entry, item, f"{path}[{item_key!r}]")
        elif field.is_repeated and isinstance(value, list):
            for index, item in enumerate(value):
                _check_value(field, item, f"{path}[{index}]")
        else:
            _check_value(field, value, path)


def _check_value(field: Any, value: Any, path: str) -> None:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        _check_enums(field.message_type, value, f"{path}.")
    elif field.type == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        if enum.full_name == "google.protobuf.NullValue":
            return
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)  # a query string's number
        known = (
            value in enum.values_by_name
            if isinstance(value, str)
            else isinstance(value, int) and not isinstance(value, bool) and _declared(enum, value)
        )
        if not known:
            names = ", ".join(item.name for item in enum.values if not item.name.endswith("UNSPECIFIED"))
            raise InvalidArgument.field(path, f"{_shown(value)} is not a {enum.name}; use one of {names}")


def _declared(enum: Any, number: int) -> bool:
    # upb's values_by_number wraps its key to 32 bits: 2**40 would be found as 0.
    return -(2**31) <= number < 2**31 and number in enum.values_by_number


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _violation(descriptor: Any, text: str) -> InvalidArgument:
    """The InvalidArgument for a json_format.ParseError's text, naming the field it is about."""
    first = text.split("\n", 1)[0]
    nested = _NESTED.match(first)
    json_path = _FIELD_NAME.findall(nested.group(0)) if nested else []
    reason = first[nested.end() :] if nested else first
    found = _AT.search(reason)
    reason = reason[: found.start()] if found else reason
    unknown = _NO_FIELD.search(reason)
    if unknown:
        json_path.append(unknown.group(1))
    reason = "unknown field" if unknown else _plain(reason)
    if not json_path:
        return InvalidArgument(f"request is not a valid {descriptor.name}: {reason}")
    return InvalidArgument.field(_proto_path(descriptor, json_path), reason)


def _plain(reason: str) -> str:
    """json_format's reason in the words of the API, not of Python."""
    for marker, plain in _PLAIN:
        if marker in reason:
            return plain
    reason = reason.strip().rstrip(".")
    return reason if len(reason) <= 200 else reason[:197] + "..."


def _proto_path(descriptor: Any, json_path: list[str]) -> str:
    """``["configSpec", "redis"]`` -> ``config_spec.redis``; unknown names are kept as sent."""
    names = []
    for part in json_path:
        name, _, index = part.partition("[")
        field = _json_field(descriptor, name) if descriptor is not None else None
        names.append((field.name if field is not None else name) + (f"[{index}" if index else ""))
        descriptor = field.message_type if field is not None else None
    return ".".join(names)
