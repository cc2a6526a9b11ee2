"""The ``filter`` of ListLogs and StreamLogs: which hosts' log records to return.

The grammar (api.md §10.2)::

    filter    := condition ("AND" condition)*
    condition := "message.hostname" ("=" | "!=") value
               | "message.hostname" ["NOT"] "IN" "(" value ("," value)* ")"
    value     := '...' | "..."        (a backslash escapes the next character)

Keywords in any case. Only ``hostname`` can be filtered on, as the API documents; each value
must be a host name (``^[a-z0-9.-]{1,61}$``). A filter that is not in this grammar is an
INVALID_ARGUMENT naming the position (1-based, in characters) where it goes wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pyparsing as pp

from managed_redis.errors import InvalidArgument

FILTERABLE = ("hostname",)
_VALUE = re.compile(r"[a-z0-9.-]{1,61}")


@dataclass(frozen=True)
class Condition:
    """``message.<key>`` must (or, ``negated``, must not) be one of ``values``."""

    key: str
    values: frozenset[str]
    negated: bool

    def holds(self, message: Mapping[str, str]) -> bool:
        return (message.get(self.key) in self.values) != self.negated


@dataclass(frozen=True)
class LogFilter:
    """Every condition must hold; no conditions: every record passes."""

    conditions: tuple[Condition, ...] = ()

    def passes(self, message: Mapping[str, str]) -> bool:
        return all(condition.holds(message) for condition in self.conditions)

    def admits_host(self, hostname: str) -> bool:
        """Whether records of ``hostname`` can pass (the only key filters can name)."""
        return self.passes({"hostname": hostname})


@dataclass(frozen=True)
class _Value:
    at: int  # 0-based position of its opening quote
    text: str


def _grammar() -> pp.ParserElement:
    and_, in_, not_ = pp.CaselessKeyword("AND"), pp.CaselessKeyword("IN"), pp.CaselessKeyword("NOT")
    key = pp.Combine(pp.Literal("message.") + pp.Word(pp.alphas + "_", pp.alphanums + "_")("key"))
    quoted = pp.QuotedString("'", esc_char="\\") | pp.QuotedString('"', esc_char="\\")
    value = quoted.copy().set_parse_action(lambda text, loc, tokens: _Value(_at_quote(text, loc), tokens[0]))
    single = key + pp.one_of("= !=")("op") + pp.Group(value)("values")
    listed = key + pp.Opt(not_)("negated") + in_ + pp.Suppress("(") + pp.Group(pp.DelimitedList(value))("values")
    listed = listed + pp.Suppress(")")
    condition = pp.Group(listed | single)
    return condition + pp.ZeroOrMore(pp.Suppress(and_) + condition) + pp.StringEnd()


_FILTER = _grammar()


def parse_log_filter(text: str, field: str = "filter") -> LogFilter:
    """The filter ``text`` spells (empty or blank: no filter). Raises InvalidArgument naming
    ``field`` and the 1-based position where the text leaves the grammar or names what it
    cannot filter on."""
    if not text.strip():
        return LogFilter()
    try:
        parsed = _FILTER.parse_string(text, parse_all=True)
    except pp.ParseBaseException as exc:
        raise InvalidArgument.field(
            field, f"not a valid filter at position {exc.loc + 1}: {_shown(text, exc.loc)}"
        ) from None
    return LogFilter(tuple(_condition(group, text, field) for group in parsed))


def _condition(group: pp.ParseResults, text: str, field: str) -> Condition:
    key = str(group["key"])
    if key not in FILTERABLE:
        at = text.find("message." + key) + 1
        raise InvalidArgument.field(
            field, f"cannot filter on message.{key} (position {at}); only {', '.join(FILTERABLE)} can be filtered on"
        )
    values = []
    for value in group["values"]:
        if not _VALUE.fullmatch(value.text):
            raise InvalidArgument.field(
                field, f"value {value.text!r} at position {value.at + 1} is not a host name (^[a-z0-9.-]{{1,61}}$)"
            )
        values.append(value.text)
    negated = ("op" in group and group["op"] == "!=") or "negated" in group
    return Condition(key, frozenset(values), negated)


def _at_quote(text: str, loc: int) -> int:
    """The position of the value's opening quote (pyparsing's ``loc`` may be before the spaces)."""
    return len(text) - len(text[loc:].lstrip())


def _shown(text: str, position: int) -> str:
    rest = text[position : position + 20]
    return f"found {rest!r}" if rest else "the filter ends too early"
