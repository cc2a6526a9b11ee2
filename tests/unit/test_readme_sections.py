"""A generated README section replaces only what stands between its own markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from managed_redis.readme_sections import ReadmeSection, main

SECTION = ReadmeSection("demo-table", "src/demo.py", lambda: "| a |\n")


def test_the_section_goes_between_its_markers_only_under_a_notice() -> None:
    text = f"before\n{SECTION.begin}\nold table\n{SECTION.end}\nafter\n<!-- other:begin -->\nkept\n"
    updated = SECTION.written_into(text)
    notice = "<!-- written by `make readme` from src/demo.py: edit there, not here -->"
    assert updated == f"before\n{SECTION.begin}\n{notice}\n| a |\n{SECTION.end}\nafter\n<!-- other:begin -->\nkept\n"
    assert SECTION.written_into(updated) == updated


@pytest.mark.parametrize("text", ["no markers", f"{SECTION.end}\n{SECTION.begin}\n"])
def test_a_readme_without_the_markers_in_order_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="demo-table"):
        SECTION.written_into(text)


def test_the_command_rewrites_a_readme_or_prints_the_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"{SECTION.begin}\n{SECTION.end}\n")
    assert main(SECTION, "demo", None, ["--readme", str(readme)]) == 0
    assert "| a |\n" in readme.read_text()
    assert main(SECTION, "demo", None, ["--markdown"]) == 0
    assert capsys.readouterr().out == "| a |\n"
