"""Finding and opening the job ledger the way the magic does, for Python users too.

:func:`open_ledger` resolves where the ledger lives (a setting, else ``$APIFRAME_LEDGER``, else a
file in the output folder; ``"off"`` turns it off) and opens it, reporting a file it cannot use
in one line rather than failing. :func:`history` is ``%music history`` for Python code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._public import public
from ..ledger import Ledger, LedgerUnavailable, history_frame, resolve_ledger_path
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
    ``None`` when it is turned off or cannot be used (``warn`` hears why, in one line; a corrupt
    file has been moved aside, never deleted)."""
    path = resolve_ledger_path(setting, output_dir)
    if path is None:
        return None
    try:
        return Ledger.open(path)
    except LedgerUnavailable as exc:
        if warn is not None:
            warn(f"the job ledger is off for this run: {exc}")
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
    it (``rating``, ``ratings``, ``wins``, ``pairs``). A pandas DataFrame when pandas is installed
    (the ``history`` extra), else a list of dicts. ``text`` matches within the prompt."""
    opened = open_ledger(ledger, output_dir)
    if opened is None:
        return history_frame([])
    with opened:
        records = opened.history(limit=limit, model=model, text=text)
        job_ids = [record.job_id for record in records if record.job_id]
        return history_frame(records, opened.ratings(job_ids=job_ids))
