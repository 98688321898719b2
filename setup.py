"""The distribution's long description: README.md as PyPI can show it.

Everything else about the build is in pyproject.toml, which marks ``readme`` as dynamic so this
file supplies it. PyPI renders the description away from the repository, where the README's
relative links and images lead nowhere. So the description is README.md with:

- each Markdown table that shows a relative image (the screenshots) left out, and any other
  relative image left out;
- each relative link replaced by its text (``[docs/sandbox.md](docs/sandbox.md)`` becomes
  ``docs/sandbox.md``, a file of the source distribution).

Absolute links (``https://...``), anchors (``#...``) and fenced code blocks are kept as they are.
tests/integration/test_wheel.py checks the built wheel's METADATA for it.
"""

from __future__ import annotations

import re
from pathlib import Path

from setuptools import setup

README = Path(__file__).resolve().parent / "README.md"

# A Markdown link or image whose target has no URL scheme and is not an anchor.
RELATIVE_LINK = re.compile(r"(?P<image>!?)\[(?P<text>[^\]]*)\]\((?![A-Za-z][A-Za-z0-9+.-]*:|#)[^)]*\)")


def has_relative_image(line: str) -> bool:
    return any(match["image"] for match in RELATIVE_LINK.finditer(line))


def without_relative_links(line: str) -> str:
    return RELATIVE_LINK.sub(lambda match: "" if match["image"] else match["text"], line)


def pypi_description(markdown: str) -> str:
    """``markdown`` without relative images (and their tables) and with relative links as text."""
    out: list[str] = []
    table: list[str] = []
    in_code = False

    def end_table() -> None:
        if not any(has_relative_image(row) for row in table):
            out.extend(without_relative_links(row) for row in table)
        table.clear()

    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if not in_code and line.lstrip().startswith("|"):
            table.append(line)
            continue
        end_table()
        out.append(line if in_code else without_relative_links(line))
    end_table()
    # A dropped table leaves the blank lines that surrounded it: keep one.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"


if __name__ == "__main__":
    setup(
        long_description=pypi_description(README.read_text(encoding="utf-8")),
        long_description_content_type="text/markdown",
    )
