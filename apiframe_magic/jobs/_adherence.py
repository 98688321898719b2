"""The columns of a table that say whether each job's music follows its prompt, for
:meth:`~apiframe_magic.Batch.to_dataframe` and :func:`~apiframe_magic.history` alike.

``asked_bpm``, ``asked_key``, ``asked_metre`` and ``asked_seconds`` are what the prompt asked for
in so many words (and the length its request asked for); ``adherence`` is the share of those
asks the first track's audio meets (``None`` when nothing that can be judged was asked, or the
track is not measured yet). See :func:`apiframe_magic.analysis.adherence` for the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..analysis import Measurements, adherence
from ..catalog import asks_of
from ..client import AnyRequest, MusicRequest
from ._files import description_of

__all__ = ["ADHERENCE_COLUMNS", "adherence_columns", "history_adherence"]

ADHERENCE_COLUMNS = ("asked_bpm", "asked_key", "asked_metre", "asked_seconds", "adherence")


def adherence_columns(request: AnyRequest | None, measurements: Measurements | None) -> dict[str, Any]:
    """The :data:`ADHERENCE_COLUMNS` of one job: what ``request`` asked for and how the
    ``measurements`` of its first track meet it."""
    if request is None:
        return dict.fromkeys(ADHERENCE_COLUMNS)
    length = request.music_length_ms
    asks = asks_of(description_of(request), length / 1000 if length is not None else None)
    score = adherence(measurements, tempo_bpm=asks.tempo_bpm, key=asks.key, metre=asks.metre,
                      seconds=asks.seconds).score if measurements is not None else None
    return {
        "asked_bpm": asks.tempo_bpm, "asked_key": asks.key, "asked_metre": asks.metre,
        "asked_seconds": asks.seconds, "adherence": score,
    }


def history_adherence(row: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`ADHERENCE_COLUMNS` of a row of ``history()``: its request rebuilt from its
    prompt, model and params, held against its measurements and length."""
    try:
        request = MusicRequest(str(row["prompt"]), str(row["model"]), params=row.get("params") or {})
    except (ValueError, TypeError, KeyError):
        return dict.fromkeys(ADHERENCE_COLUMNS)
    measured = None
    if any(row.get(name) is not None for name in ("length", "tempo_bpm", "key")):
        measured = Measurements(
            duration_s=row.get("length"), tempo_bpm=row.get("tempo_bpm"), key=row.get("key")
        )
    return adherence_columns(request, measured)
