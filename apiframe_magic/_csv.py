"""One rule for every CSV this package writes: no cell a spreadsheet would run as a formula.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
to Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` typed as a listener's name, or a
prompt read from a file). As OWASP advises for CSV injection, such a cell is written with a
``'`` in front, which a spreadsheet shows as text. A text cell that already starts with ``'``
gets one more, so the rule can be undone exactly: :func:`read_rows` (used for our own files,
e.g. :func:`~apiframe_magic.listening.read_ratings_csv`) removes one leading ``'`` from every
cell that has one and gives back the text as typed.

Only text is touched: numbers written as numbers (``credits``, ``duration``, ``score``; ``-3.5``
is a number, not a formula) are written as Python writes them. Layer-neutral, like ``_fs``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

__all__ = ["FORMULA_TRIGGERS", "QUOTE", "plain_cell", "read_rows", "safe_cell", "write_rows"]

# OWASP's list of the characters that make a cell a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def safe_cell(value: object) -> object:
    """``value`` as it goes into a cell: ``""`` for ``None``; text that starts with one of
    :data:`FORMULA_TRIGGERS` or with ``'`` gets a leading ``'``; anything else as it is."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith((*FORMULA_TRIGGERS, QUOTE)):
        return QUOTE + value
    return value


def plain_cell(text: str) -> str:
    """A cell of a file written by :func:`write_rows` as the text it was written from."""
    return text[1:] if text.startswith(QUOTE) else text


def write_rows(file: TextIO, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Write a header of ``columns`` and ``rows`` (keys of ``columns``; missing ones empty) to
    ``file`` (opened with ``newline=""``), every cell through :func:`safe_cell`."""
    writer = csv.DictWriter(file, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(row.get(k)) for k in columns})


def read_rows(file: TextIO) -> list[dict[str, str]]:
    """The rows of a CSV written by :func:`write_rows`, every cell as :func:`plain_cell` gives it
    (``file`` opened with ``newline=""``)."""
    return [
        {k: plain_cell(v) if isinstance(v, str) else v for k, v in row.items()}
        for row in csv.DictReader(file)
    ]
