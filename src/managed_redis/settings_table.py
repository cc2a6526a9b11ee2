"""The README's settings table, written from the settings catalogue (``settings.SETTINGS``).

``python -m managed_redis.settings_table --markdown`` prints the table;
``python -m managed_redis.settings_table --readme README.md`` (``make readme``) rewrites it in
place, between ``<!-- settings-table:begin -->`` and ``<!-- settings-table:end -->``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from managed_redis.settings import SETTINGS, SettingSpec

BEGIN = "<!-- settings-table:begin -->"
END = "<!-- settings-table:end -->"
_NOTICE = "<!-- written by `make readme` from src/managed_redis/settings.py: edit there, not here -->"


def default_markdown(spec: SettingSpec) -> str:
    """The default column of one row: ``default_text`` if declared, else the value in backquotes
    (numbers as ``5``, not ``5.0``); never a secret's value."""
    if spec.default_text is not None:
        return spec.default_text
    value = spec.default
    if spec.secret or value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def markdown_table() -> str:
    """Every setting as a row of flag, environment variables, default and meaning (Markdown,
    ending in a newline)."""
    rows = ["| flag | variable | default | meaning |", "|---|---|---|---|"]
    for spec in SETTINGS:
        flag = f"`{spec.flag}`" if spec.flag else ""
        variables = " or ".join(f"`{name}`" for name in spec.env_names)
        rows.append(f"| {flag} | {variables} | {default_markdown(spec)} | {spec.help} |")
    return "\n".join(rows) + "\n"


def with_table(readme: str) -> str:
    """``readme`` with the text between the markers replaced by the current table; raises
    ValueError when the markers are missing or out of order."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {BEGIN} ... {END} block")
    return f"{readme[: start + len(BEGIN)]}\n{_NOTICE}\n{markdown_table()}{readme[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table (``--markdown``) or rewrite a README's (``--readme PATH``); returns 0."""
    parser = argparse.ArgumentParser(prog="python -m managed_redis.settings_table", description=__doc__)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--markdown", action="store_true", help="print the settings table")
    what.add_argument("--readme", type=Path, help="rewrite the table in this README")
    args = parser.parse_args(argv)
    if args.readme is None:
        sys.stdout.write(markdown_table())
        return 0
    text = args.readme.read_text()
    updated = with_table(text)
    if updated != text:
        args.readme.write_text(updated)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
