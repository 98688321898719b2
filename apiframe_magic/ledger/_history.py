"""The ledger as a table: what ``%music history`` shows and ``apiframe_magic.history()`` returns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._records import PAIR, RATING, JobRecord, RatingRecord

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]  # an optional extra

__all__ = ["HISTORY_COLUMNS", "MEASUREMENT_COLUMNS", "history_frame", "history_rows"]

MEASUREMENT_COLUMNS = ("loudness_lufs", "peak_dbfs", "clipped_samples", "tempo_bpm", "key")
"""The measurements of a track the table shows, by the names :mod:`apiframe_magic.analysis` stores."""

HISTORY_COLUMNS = (
    "prompt", "model", "take", "status", "credits", "length", "file", "when", "job_id", "label", "params",
    *MEASUREMENT_COLUMNS, "rating", "ratings", "wins", "pairs",
)


def history_rows(
    records: Iterable[JobRecord], ratings: Iterable[RatingRecord] = ()
) -> list[dict[str, Any]]:
    """One dict per record, with the keys of :data:`HISTORY_COLUMNS`, in that order.

    ``credits`` is what the service charged (``None`` until known); ``length`` is the first
    track's duration in seconds; ``file`` its path (the paths of every track, one per line, for
    a job of several); ``when`` the submission time (the request's time when it was never
    submitted), an ISO 8601 UTC string; ``params`` the model's params as sent. The measurement
    columns are the first track's (``None`` until measured; ``tempo_bpm`` and ``key`` need the
    ``analysis`` extra).

    From ``ratings``, the judgements of listening tests about the job's tracks: ``rating`` is the
    mean score of its 1-to-5 ratings and ``ratings`` how many there were; ``wins`` is how many
    A/B pairs it won and ``pairs`` how many it was in (``None`` and 0 when never judged).
    """
    scores: dict[str, list[int]] = {}
    wins: dict[str, int] = {}
    pairs: dict[str, int] = {}
    for rating in ratings:
        if rating.kind == RATING:
            scores.setdefault(rating.job_id, []).append(rating.score)
        elif rating.kind == PAIR and rating.other_job_id is not None:
            for job_id in {rating.job_id, rating.other_job_id}:
                pairs[job_id] = pairs.get(job_id, 0) + 1
            if rating.score:
                winner = rating.job_id if rating.score > 0 else rating.other_job_id
                wins[winner] = wins.get(winner, 0) + 1
    rows = []
    for record in records:
        first = record.tracks[0] if record.tracks else None
        measured = (first.measurements if first else None) or {}
        job_scores = scores.get(record.job_id or "", [])
        rows.append(
            {
                "prompt": record.prompt,
                "model": record.model,
                "take": record.take,
                "status": record.status,
                "credits": record.credits,
                "length": first.duration if first else None,
                "file": "\n".join(track.path for track in record.tracks) or None,
                "when": record.submitted_at or record.created_at,
                "job_id": record.job_id,
                "label": record.label,
                "params": dict(record.params),
                **{name: measured.get(name) for name in MEASUREMENT_COLUMNS},
                "rating": sum(job_scores) / len(job_scores) if job_scores else None,
                "ratings": len(job_scores),
                "wins": wins.get(record.job_id or "", 0),
                "pairs": pairs.get(record.job_id or "", 0),
            }
        )
    return rows


def history_frame(
    records: Iterable[JobRecord], ratings: Iterable[RatingRecord] = ()
) -> pandas.DataFrame | list[dict[str, Any]]:
    """:func:`history_rows` as a pandas DataFrame when pandas can be imported (its columns in
    :data:`HISTORY_COLUMNS` order, ``when`` as UTC timestamps), else the list of dicts itself."""
    rows = history_rows(records, ratings)
    try:
        import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return rows
    frame = pandas.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    frame["when"] = pandas.to_datetime(frame["when"], utc=True)
    return frame
