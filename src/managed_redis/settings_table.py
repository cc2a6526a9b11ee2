"""The README's settings table, written from the settings catalogue (``settings.SETTINGS``).

``python -m managed_redis.settings_table --markdown`` prints the table;
``python -m managed_redis.settings_table --readme README.md`` (``make readme``) rewrites it in
place, between ``<!-- settings-table:begin -->`` and ``<!-- settings-table:end -->``.
"""

from __future__ import annotations

from managed_redis.readme_sections import ReadmeSection, main
from managed_redis.settings import SETTINGS, SettingSpec


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


SECTION = ReadmeSection("settings-table", "src/managed_redis/settings.py", markdown_table)
BEGIN, END = SECTION.begin, SECTION.end
with_table = SECTION.written_into


if __name__ == "__main__":
    raise SystemExit(main(SECTION, "python -m managed_redis.settings_table", __doc__))
