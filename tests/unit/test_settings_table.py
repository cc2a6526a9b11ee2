"""The README's settings table is the one the catalogue makes: `make readme` after a change."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from managed_redis.settings import SETTINGS
from managed_redis.settings_table import BEGIN, END, default_markdown, markdown_table, with_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_shows_the_declared_settings() -> None:
    readme = README.read_text()
    assert with_table(readme) == readme, "the README's settings table has drifted: run `make readme`"


def test_every_setting_has_a_row_naming_its_flag_and_variables() -> None:
    rows = markdown_table().splitlines()[2:]
    assert len(rows) == len(SETTINGS)
    for spec, row in zip(SETTINGS, rows, strict=True):
        assert all(f"`{name}`" in row for name in spec.env_names)
        assert row.startswith(f"| `{spec.flag}` |" if spec.flag else "|  |")
        assert row.count("|") == 5, f"a '|' in the help of {spec.name} breaks its row"


def test_a_secret_shows_no_value() -> None:
    for spec in SETTINGS:
        if spec.secret:
            assert spec.default is None
            assert default_markdown(dataclasses.replace(spec, default="hunter2", default_text=None)) == "none"


def test_the_table_goes_between_the_markers_only() -> None:
    text = f"before\n{BEGIN}\nold table\n{END}\nafter\n"
    updated = with_table(text)
    assert updated.startswith(f"before\n{BEGIN}\n") and updated.endswith(f"{END}\nafter\n")
    assert "old table" not in updated and markdown_table() in updated
    with pytest.raises(ValueError, match="settings-table"):
        with_table("no markers")
