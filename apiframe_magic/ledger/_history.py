"""The ledger as a table: what ``%music history`` shows and ``apiframe_magic.history()`` returns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._records import JobRecord

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]  # an optional extra

__all__ = ["HISTORY_COLUMNS", "history_frame", "history_rows"]

HISTORY_COLUMNS = (
    "prompt", "model", "take", "status", "credits", "length", "file", "when", "job_id", "label", "params",
)


def history_rows(records: Iterable[JobRecord]) -> list[dict[str, Any]]:
    """One dict per record, with the keys of :data:`HISTORY_COLUMNS`, in that order.

    ``credits`` is what the service charged (``None`` until known); ``length`` is the first
    track's duration in seconds; ``file`` its path (the paths of every track, one per line, for
    a job of several); ``when`` the submission time (the request's time when it was never
    submitted), an ISO 8601 UTC string; ``params`` the model's params as sent.
    """
    rows = []
    for record in records:
        first = record.tracks[0] if record.tracks else None
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
            }
        )
    return rows


def history_frame(records: Iterable[JobRecord]) -> pandas.DataFrame | list[dict[str, Any]]:
    """:func:`history_rows` as a pandas DataFrame when pandas can be imported (its columns in
    :data:`HISTORY_COLUMNS` order, ``when`` as UTC timestamps), else the list of dicts itself."""
    rows = history_rows(records)
    try:
        import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return rows
    frame = pandas.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    frame["when"] = pandas.to_datetime(frame["when"], utc=True)
    return frame
