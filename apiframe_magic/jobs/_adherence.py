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

from ..analysis import Adherence, Measurements, adherence
from ..catalog import MODELS, PromptAsks, asks_of
from ..client import AnyRequest
from ._files import describe, description_of

__all__ = ["ADHERENCE_COLUMNS", "adherence_columns", "adherence_of", "asks_for", "history_adherence"]

ADHERENCE_COLUMNS = ("asked_bpm", "asked_key", "asked_metre", "asked_seconds", "adherence")


def asks_for(request: AnyRequest | None) -> PromptAsks:
    """What ``request`` asked for in so many words, and the length it asked for."""
    if request is None:
        return PromptAsks()
    length = request.music_length_ms
    return asks_of(description_of(request), length / 1000 if length is not None else None)


def adherence_of(request: AnyRequest | None, measurements: Measurements | None) -> Adherence:
    """How ``measurements`` meet what ``request`` asked for (see :func:`asks_for`)."""
    return _held(asks_for(request), measurements)


def _held(asks: PromptAsks, measurements: Measurements | None) -> Adherence:
    return adherence(measurements, tempo_bpm=asks.tempo_bpm, key=asks.key, metre=asks.metre,
                     seconds=asks.seconds)


def _columns(asks: PromptAsks, measurements: Measurements | None) -> dict[str, Any]:
    return {
        "asked_bpm": asks.tempo_bpm, "asked_key": asks.key, "asked_metre": asks.metre,
        "asked_seconds": asks.seconds,
        "adherence": _held(asks, measurements).score if measurements is not None else None,
    }


def adherence_columns(request: AnyRequest | None, measurements: Measurements | None) -> dict[str, Any]:
    """The :data:`ADHERENCE_COLUMNS` of one job: what ``request`` asked for and how the
    ``measurements`` of its first track meet it."""
    if request is None:
        return dict.fromkeys(ADHERENCE_COLUMNS)
    return _columns(asks_for(request), measurements)


def history_adherence(row: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`ADHERENCE_COLUMNS` of a row of ``history()``, read from its stored prompt, model
    and params (not a request rebuilt, and validated, per row: a history may hold thousands) and
    held against its measurements and length. A Suno action's row asks nothing."""
    spec = MODELS.get(str(row.get("model")))
    params = row.get("params") or {}
    if spec is None or row.get("action") or not isinstance(params, Mapping):
        return dict.fromkeys(ADHERENCE_COLUMNS)
    length = params.get(spec.length_param) if spec.length_param else None
    asks = asks_of(describe(spec, str(row.get("prompt") or ""), params),
                   length / 1000 if isinstance(length, int) else None)
    measured = None
    if any(row.get(name) is not None for name in ("length", "tempo_bpm", "key")):
        measured = Measurements(
            duration_s=row.get("length"), tempo_bpm=row.get("tempo_bpm"), key=row.get("key")
        )
    return _columns(asks, measured)
