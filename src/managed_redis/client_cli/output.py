"""Printing what the API answered: ``json`` and ``yaml`` as the API's own JSON (camelCase, so
scripts can parse it), ``text`` as a table for a list and an indented summary for one resource.

A list command prints a list of resources; one resource prints as an object. The API's JSON
leaves out a field at its default, so a table's boolean column (``booleans``) shows ``false``
where a row has no value, not a blank.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Sequence
from typing import Any, TextIO

FORMATS = ("text", "json", "yaml")


def without_type(resource: dict[str, Any]) -> dict[str, Any]:
    """An ``Any``-packed message as its plain JSON: the ``@type`` key dropped."""
    return {k: v for k, v in resource.items() if k != "@type"}


def emit(
    value: Any, fmt: str, columns: Sequence[str] = (), out: TextIO | None = None, booleans: Collection[str] = ()
) -> None:
    """Print ``value`` (a resource or a list of them) in ``fmt``; ``columns`` are the keys
    (dotted for nested ones) a text table of a list shows, every top-level key if empty;
    ``booleans`` those of them that are booleans (``false`` when absent)."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "yaml":
        import yaml

        out.write(yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False))
    elif isinstance(value, list):
        out.write(table(value, columns, booleans))
    else:
        out.write(summary(value))


def pick(resource: dict[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` (``config.version``) in ``resource``, None when absent."""
    value: Any = resource
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _value(row: dict[str, Any], column: str, booleans: Collection[str]) -> Any:
    value = pick(row, column)
    return False if value is None and column in booleans else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] = (), booleans: Collection[str] = ()) -> str:
    """``rows`` as a text table with a header row of ``columns`` in upper case; a column of
    ``booleans`` absent from a row (the API's JSON omits false) shows ``false``."""
    if not columns:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    if not columns:
        return ""
    cells = [[_cell(_value(row, column, booleans)) for column in columns] for row in rows]
    header = [column.split(".")[-1].upper() for column in columns]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(columns))]
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)) for line in [header, *cells]
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def summary(resource: Any, indent: int = 0) -> str:
    """``resource`` as indented ``key: value`` lines (nested objects indented under their key)."""
    if not isinstance(resource, dict):
        return " " * indent + _cell(resource) + "\n"
    lines: list[str] = []
    for key, value in resource.items():
        if isinstance(value, dict) and value:
            lines.append(f"{' ' * indent}{key}:\n{summary(value, indent + 2).rstrip()}")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{' ' * indent}{key}:")
            lines += [f"{' ' * (indent + 2)}- {_cell(v)}" for v in value]
        else:
            lines.append(f"{' ' * indent}{key}: {_cell(value)}")
    return "\n".join(lines) + "\n" if lines else ""
