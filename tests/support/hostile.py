"""Hypothesis strategies for hostile API input, generated from the API's own descriptors.

For a request message: JSON bodies whose keys are the message's fields (and some that are
not) with values of every wrong kind (other JSON types, numbers past every range, enum
numbers and names no enum declares, huge and odd strings, deep nesting), and binary
protobuf (well-typed messages with values out of their meaning, unknown enum numbers,
random bytes, truncated or corrupted encodings, invalid UTF-8 in string fields). Plus
hostile path segments, query strings, HTTP verbs and headers.
"""

from __future__ import annotations

import functools
import json
import urllib.parse
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

F = FieldDescriptor
INTS = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "../../../../etc/passwd",
    "..",
    "%00",
    "%2e%2e%2f",
    "' OR '1'='1' --",
    '"; DROP TABLE clusters; --',
    "${jndi:ldap://127.0.0.1/a}",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "\r\nX-Injected: 1",
    "\u202e\u0000\ufeff",
    "🙂" * 20,
    "NaN",
    "-1",
    "1e309",
    "0x7fffffff",
    "9" * 40,
    "true",
    "null",
    "*",
    "c9q",
    "b1g",
    "*" * 300,
    "A" * 5000,
]
VERBS = ["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "TRACE", "FOO"]


def hostile_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Short text of any Unicode (no lone surrogates), odd strings, and the odd very long one."""
    return st.one_of(
        st.text(st.characters(exclude_categories=["Cs"]), max_size=max_size),
        st.sampled_from(NASTY_STRINGS),
        st.integers(1, 300_000).map(lambda n: "x" * n),
    )


def hostile_json_scalar() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from([1e308, -1e308, 0.5, 2**63, -(2**63) - 1, 2**64]),
        hostile_text(),
    )


def hostile_json_value(depth: int = 2) -> st.SearchStrategy[Any]:
    """Any JSON value: scalars, and lists and objects of them."""
    return st.recursive(
        hostile_json_scalar(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text(12), inner, max_size=4),
        max_leaves=8 if depth else 1,
    )


@functools.cache
def json_message(descriptor: Any, depth: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects shaped like ``descriptor``: some of its fields (by JSON or proto name) with
    values fit or hostile for each field's type, and now and then a key it does not have."""
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        value = json_field(field, depth)
        optional[field.json_name] = value
        if field.name != field.json_name:
            optional[field.name] = value
    fields = st.fixed_dictionaries({}, optional=optional)
    extra = st.dictionaries(hostile_text(20), hostile_json_scalar(), max_size=2)
    return st.one_of(fields, st.builds(lambda a, b: {**b, **a}, fields, extra))


def json_field(field: Any, depth: int) -> st.SearchStrategy[Any]:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        value = json_single(entry.fields_by_name["value"], depth - 1)
        fitting = st.dictionaries(hostile_text(20), value, max_size=4)
        return st.one_of(fitting, hostile_json_value(1))
    single = json_single(field, depth)
    if field.is_repeated:
        return st.one_of(
            st.lists(single, max_size=4),
            st.integers(100, 20_000).flatmap(lambda n: single.map(lambda item: [item] * n)),
            hostile_json_scalar(),
        )
    return single


def json_single(field: Any, depth: int) -> st.SearchStrategy[Any]:
    """A value for one element of ``field``: fit for its type or not."""
    wrong = hostile_json_value(0)
    if field.type == F.TYPE_MESSAGE:
        name = field.message_type.full_name
        if name.startswith("google.protobuf."):
            return st.one_of(wrong, hostile_text(), st.sampled_from(["1s", "-5s", "2026-13-45T99:99:99Z", "a,b..c"]))
        if depth <= 0:
            return st.one_of(st.just({}), wrong)
        return st.one_of(json_message(field.message_type, depth - 1), wrong)
    if field.type == F.TYPE_ENUM:
        names = [value.name for value in field.enum_type.values]
        return st.one_of(st.sampled_from(names), st.integers(-(2**40), 2**40), hostile_text(20), wrong)
    if field.type == F.TYPE_BOOL:
        return st.one_of(st.booleans(), wrong)
    if field.type in INTS:
        low, high = INTS[field.type]
        return st.one_of(
            st.integers(low, high),
            st.integers(low, high).map(str),
            st.sampled_from([low - 1, high + 1, 2**100, -(2**100)]),
            wrong,
        )
    return st.one_of(hostile_text(), wrong)


def json_body(descriptor: Any) -> st.SearchStrategy[bytes]:
    """A request body: JSON shaped like the message, any JSON, or bytes that are no JSON."""
    nesting = st.integers(10, 200_000).map(lambda n: b"[" * n + b"]" * n)
    return st.one_of(
        json_message(descriptor).map(_dumps),
        json_message(descriptor).map(_dumps),
        hostile_json_value().map(_dumps),
        nesting,
        st.binary(max_size=64),
        st.sampled_from([b"", b"{", b'{"a":1,}', b"\xff\xfe{}", b"NaN", b'{"\\ud800": 1}', b"1" * 5000]),
    )


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# -- binary protobuf ------------------------------------------------------------------------


@functools.cache
def proto_message(descriptor: Any, depth: int = 3) -> st.SearchStrategy[Message]:
    """Messages of ``descriptor``'s type with values of the right wire type but any meaning."""
    cls = message_factory.GetMessageClass(descriptor)
    optional = {
        field.name: proto_field(field, depth)
        for field in descriptor.fields
        if field.type != F.TYPE_MESSAGE or depth > 0
    }
    return st.fixed_dictionaries({}, optional=optional).map(lambda values: _build(cls, values))


def proto_field(field: Any, depth: int) -> st.SearchStrategy[Any]:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        key = proto_single(entry.fields_by_name["key"], depth - 1)
        return st.dictionaries(key, proto_single(entry.fields_by_name["value"], depth - 1), max_size=3)
    single = proto_single(field, depth)
    return st.lists(single, max_size=4) if field.is_repeated else single


def proto_single(field: Any, depth: int) -> st.SearchStrategy[Any]:
    if field.type == F.TYPE_MESSAGE:
        return proto_message(field.message_type, depth - 1)
    if field.type == F.TYPE_ENUM:
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), st.integers(-(2**31), 2**31 - 1))
    if field.type == F.TYPE_BOOL:
        return st.booleans()
    if field.type in INTS:
        return st.integers(*INTS[field.type])
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.floats(width=32 if field.type == F.TYPE_FLOAT else 64)
    if field.type == F.TYPE_BYTES:
        return st.binary(max_size=64)
    return st.text(st.characters(exclude_categories=["Cs"]), max_size=40) | st.sampled_from(NASTY_STRINGS)


def _build(cls: type[Message], values: dict[str, Any]) -> Message:
    message = cls()
    for name, value in values.items():
        field = cls.DESCRIPTOR.fields_by_name[name]
        target = getattr(message, name)
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            for key, item in value.items():
                if isinstance(item, Message):
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif field.is_repeated:
            target.extend(value)
        elif isinstance(value, Message):
            target.CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def _string_field_numbers(descriptor: Any) -> list[int]:
    return [f.number for f in descriptor.fields if f.type == F.TYPE_STRING] or [1]


def proto_bytes(descriptor: Any) -> st.SearchStrategy[bytes]:
    """Bytes on the wire: a message, a corrupted or cut one, invalid UTF-8, or noise."""
    message = proto_message(descriptor).map(lambda m: m.SerializeToString())
    bad_utf8 = st.sampled_from(_string_field_numbers(descriptor)).map(
        lambda number: bytes([number << 3 | 2, 2]) + b"\xc3\x28" if number < 16 else b"\x0a\x02\xc3\x28"
    )
    cut = st.tuples(message, st.integers(1, 64)).map(lambda pair: pair[0][: max(0, len(pair[0]) - pair[1])])
    flipped = st.tuples(message, st.integers(0, 10_000), st.integers(0, 255)).map(_flip)
    return st.one_of(message, message, cut, flipped, bad_utf8, st.binary(max_size=128))


def _flip(args: tuple[bytes, int, int]) -> bytes:
    data, where, byte = args
    if not data:
        return bytes([byte])
    index = where % len(data)
    return data[:index] + bytes([byte]) + data[index + 1 :]


# -- HTTP -------------------------------------------------------------------------------------


def path_segment(real: list[str]) -> st.SearchStrategy[str]:
    """A path variable's value as it goes on the wire: a real id, or any text percent-encoded."""
    return st.one_of(
        st.sampled_from(real) if real else st.nothing(),
        hostile_text(60).map(lambda text: urllib.parse.quote(text, safe="")),
        st.sampled_from(["..", ".", "%", "%zz", "%2F", "%00", "a/b", "a:b", "~", "%C0%AE", "%ff"]),
    )


def query_string(descriptor: Any) -> st.SearchStrategy[str]:
    """``?k=v&…`` with the message's field names (plain, camel, dotted) and others, any values."""
    names = [f.json_name for f in descriptor.fields] + [f.name for f in descriptor.fields]
    names += [
        f"{f.json_name}.{sub.json_name}"
        for f in descriptor.fields
        if f.message_type is not None
        for sub in f.message_type.fields
    ]
    key = st.one_of(st.sampled_from(names), hostile_text(20)) if names else hostile_text(20)
    value = st.one_of(hostile_text(), st.integers(-(2**70), 2**70).map(str), st.sampled_from(["true", "", "%"]))
    pairs = st.lists(st.tuples(key, value), max_size=5)
    raw = st.sampled_from(["?", "?&&", "?=", "?a", "?%", "?a=%zz", "?" + "a=1&" * 2000, "?a=%ff%fe"])
    encoded = pairs.map(lambda items: "?" + urllib.parse.urlencode(items) if items else "")
    return st.one_of(encoded, encoded, raw)


def header_value() -> st.SearchStrategy[str]:
    """A header value that keeps the request's framing (no CR or LF)."""
    printable = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
    return st.one_of(st.text(printable, max_size=60), st.integers(1, 7000).map(lambda n: "t" * n))
