"""Finding and opening the job ledger the way the magic does, for Python users too.

:func:`open_ledger` resolves where the ledger lives (a setting, else ``$APIFRAME_LEDGER``, else a
file in the output folder; ``"off"`` turns it off) and opens it, reporting a file it cannot use
in one line rather than failing; a corrupt file has been replaced by a new ledger holding what
could be recovered from it, which is opened at once. :func:`history` is ``%music history`` for Python code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._public import public
from ..ledger import HISTORY_COLUMNS, Ledger, LedgerUnavailable, resolve_ledger_path, rows_frame
from ._files import DEFAULT_OUTPUT_DIR

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]  # an optional extra

__all__ = ["history", "open_ledger"]


def open_ledger(
    setting: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT_DIR,
    *,
    warn: Callable[[str], None] | None = None,
) -> Ledger | None:
    """The ledger for ``output_dir`` (or the one ``setting`` / ``$APIFRAME_LEDGER`` names), or
    ``None`` when it is turned off or cannot be used (``warn`` hears why, in one line).

    A corrupt file is moved aside (never deleted) and the new ledger that holds the jobs
    recovered from it is returned, ``warn`` hearing where the file was kept and how many jobs
    were recovered. A file that can be read but not written opens read-only: its jobs still
    answer (see :attr:`~apiframe_magic.ledger.Ledger.read_only`)."""
    path = resolve_ledger_path(setting, output_dir)
    if path is None:
        return None
    try:
        return Ledger.open(path)
    except LedgerUnavailable as exc:
        replaced = exc
    if replaced.kept_as is not None and replaced.recovered is not None:
        try:
            opened = Ledger.open(path)
        except LedgerUnavailable as exc:
            replaced = exc
        else:
            if warn is not None:
                warn(f"the job ledger: {replaced}")
            return opened
    if warn is not None:
        warn(f"the job ledger is off for this run: {replaced}")
    return None


@public
def history(
    *,
    limit: int | None = 50,
    model: str | None = None,
    text: str | None = None,
    ledger: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT_DIR,
) -> pandas.DataFrame | list[dict[str, Any]]:
    """Every job the ledger recorded, newest first: prompt, model, take, status, credits, length,
    file, when, job id, label and params, the first track's measurements (``loudness_lufs``,
    ``peak_dbfs``, ``clipped_samples``, ``tempo_bpm``, ``key``) and what listening tests made of
    it (``rating``, ``ratings``, ``wins``, ``pairs``), and whether the music follows the prompt
    (``asked_bpm``, ``asked_key``, ``asked_metre``, ``asked_seconds``, ``adherence``: see
    :attr:`MusicResult.adherence`). A pandas DataFrame when pandas is installed
    (the ``history`` extra), else a list of dicts. ``text`` matches within the prompt."""
    from ._adherence import ADHERENCE_COLUMNS, history_adherence

    columns = (*HISTORY_COLUMNS, *ADHERENCE_COLUMNS)
    opened = open_ledger(ledger, output_dir)
    if opened is None:
        return rows_frame([], columns)
    with opened:
        rows = opened.history_rows(limit=limit, model=model, text=text)
    for row in rows:
        row.update(history_adherence(row))
    return rows_frame(rows, columns)
