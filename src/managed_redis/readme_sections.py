"""The README's sections written from the code: each between markers of its own
(``<!-- NAME:begin -->`` ... ``<!-- NAME:end -->``), under a notice naming what it is made
from. ``make readme`` rewrites them (each module's ``main``); a test per section fails when
the README drifts from the code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReadmeSection:
    """One generated section: its marker ``name``, the ``source`` file it is written from, and
    ``render``, which makes its Markdown (ending in a newline)."""

    name: str
    source: str
    render: Callable[[], str]

    @property
    def begin(self) -> str:
        return f"<!-- {self.name}:begin -->"

    @property
    def end(self) -> str:
        return f"<!-- {self.name}:end -->"

    def written_into(self, readme: str) -> str:
        """``readme`` with the text between the markers replaced by the notice and ``render()``.

        Raises:
            ValueError: when the markers are missing or out of order.
        """
        start, end = readme.find(self.begin), readme.find(self.end)
        if start < 0 or end < start:
            raise ValueError(f"the README has no {self.begin} ... {self.end} block")
        notice = f"<!-- written by `make readme` from {self.source}: edit there, not here -->"
        return f"{readme[: start + len(self.begin)]}\n{notice}\n{self.render()}{readme[end:]}"


def main(section: ReadmeSection, prog: str, description: str | None, argv: Sequence[str] | None = None) -> int:
    """The command line of a section's module: print the section (``--markdown``) or rewrite
    it in a README (``--readme PATH``, left untouched when already current); returns 0.

    Raises:
        ValueError: when the README lacks the section's markers.
        OSError: when the README cannot be read or written.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--markdown", action="store_true", help=f"print the {section.name}")
    what.add_argument("--readme", type=Path, help=f"rewrite the {section.name} in this README")
    args = parser.parse_args(argv)
    if args.readme is None:
        sys.stdout.write(section.render())
        return 0
    text = args.readme.read_text()
    updated = section.written_into(text)
    if updated != text:
        args.readme.write_text(updated)
    return 0
