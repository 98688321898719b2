"""The ledger as a table: what ``%music history`` shows and ``apiframe_magic.history()`` returns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from ._records import PAIR, RATING, TEST_ROLE, JobRecord, RatingRecord

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]  # an optional extra

__all__ = [
    "HISTORY_COLUMNS",
    "MEASUREMENT_COLUMNS",
    "Judgements",
    "StoredJob",
    "history_frame",
    "history_row",
    "history_rows",
    "lineage_tree",
    "rows_frame",
]

MEASUREMENT_COLUMNS = ("loudness_lufs", "peak_dbfs", "clipped_samples", "tempo_bpm", "key")
"""The measurements of a track the table shows, by the names :mod:`apiframe_magic.analysis` stores."""

HISTORY_COLUMNS = (
    "prompt", "model", "take", "status", "credits", "length", "file", "when", "job_id", "label", "params",
    *MEASUREMENT_COLUMNS, "rating", "ratings", "wins", "pairs", "action", "parent_job_id", "parent_track",
)


class Judgements:
    """What listening tests made of each job, by job id: its 1-to-5 scores, the A/B pairs it
    won and the pairs it was in (a pair of two takes of one job counts once)."""

    def __init__(self) -> None:
        self.scores: dict[str, list[int]] = {}
        self.wins: dict[str, int] = {}
        self.pairs: dict[str, int] = {}

    def add(self, kind: str, job_id: str, other_job_id: str | None, score: int) -> None:
        """Count one judgement (the fields of a :class:`RatingRecord`)."""
        if kind == RATING:
            self.scores.setdefault(job_id, []).append(score)
        elif kind == PAIR and other_job_id is not None:
            for one in {job_id, other_job_id}:
                self.pairs[one] = self.pairs.get(one, 0) + 1
            if score:
                winner = job_id if score > 0 else other_job_id
                self.wins[winner] = self.wins.get(winner, 0) + 1

    def columns(self, job_id: str | None) -> dict[str, Any]:
        """The ``rating``, ``ratings``, ``wins`` and ``pairs`` columns of job ``job_id``."""
        scores = self.scores.get(job_id or "", [])
        return {
            "rating": sum(scores) / len(scores) if scores else None,
            "ratings": len(scores),
            "wins": self.wins.get(job_id or "", 0),
            "pairs": self.pairs.get(job_id or "", 0),
        }


class StoredJob(TypedDict):
    """What the ledger holds about one job that its row of the table shows (see
    :func:`history_rows`): ``length`` and ``measured`` are its first track's, ``files`` the paths
    of all its tracks, ``when`` its submission time (its request's when never submitted)."""

    prompt: str
    model: str
    take: int
    status: str
    credits: int | None
    length: float | None
    files: Iterable[str]
    when: str
    job_id: str | None
    label: str | None
    params: dict[str, Any]
    measured: Mapping[str, Any] | None
    action: str | None
    parent_job_id: str | None
    parent_track: int | None


def history_row(stored: StoredJob, judged: Judgements) -> dict[str, Any]:
    """One row of the table (see :func:`history_rows`), from a job's ``stored`` values and what
    listening tests made of it."""
    measured = stored["measured"] or {}
    job_id = stored["job_id"]
    return {
        "prompt": stored["prompt"],
        "model": stored["model"],
        "take": stored["take"],
        "status": stored["status"],
        "credits": stored["credits"],
        "length": stored["length"],
        "file": "\n".join(stored["files"]) or None,
        "when": stored["when"],
        "job_id": job_id,
        "label": stored["label"],
        "params": stored["params"],
        **{name: measured.get(name) for name in MEASUREMENT_COLUMNS},
        **judged.columns(job_id),
        "action": stored["action"],
        "parent_job_id": stored["parent_job_id"],
        "parent_track": stored["parent_track"],
    }


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

    A Suno action's row says what it was made from: ``action`` (``extend``, ``cover``,
    ``add_vocals``, ``stems``), ``parent_job_id`` and ``parent_track`` (from 1); ``None`` for a
    generation (:func:`lineage_tree` draws them as a tree).

    :meth:`Ledger.history_rows` gives the same rows straight from the file, much faster for a
    long history.
    """
    judged = Judgements()
    for rating in ratings:
        if rating.role == TEST_ROLE:
            judged.add(rating.kind, rating.job_id, rating.other_job_id, rating.score)
    rows = []
    for record in records:
        first = record.tracks[0] if record.tracks else None
        rows.append(history_row(
            {
                "prompt": record.prompt, "model": record.model, "take": record.take,
                "status": record.status, "credits": record.credits,
                "length": first.duration if first else None,
                "files": (track.path for track in record.tracks),
                "when": record.submitted_at or record.created_at, "job_id": record.job_id,
                "label": record.label, "params": dict(record.params),
                "measured": first.measurements if first else None,
                "action": record.action, "parent_job_id": record.parent_job_id,
                "parent_track": record.parent_track,
            },
            judged,
        ))
    return rows


def history_frame(
    records: Iterable[JobRecord], ratings: Iterable[RatingRecord] = ()
) -> pandas.DataFrame | list[dict[str, Any]]:
    """:func:`history_rows` as a pandas DataFrame when pandas can be imported (its columns in
    :data:`HISTORY_COLUMNS` order, ``when`` as UTC timestamps), else the list of dicts itself."""
    return rows_frame(history_rows(records, ratings))


def rows_frame(
    rows: list[dict[str, Any]], columns: Sequence[str] = HISTORY_COLUMNS
) -> pandas.DataFrame | list[dict[str, Any]]:
    """Rows of :func:`history_rows` (or :meth:`Ledger.history_rows`) as :func:`history_frame`
    returns them: a pandas DataFrame of ``columns`` when pandas can be imported, else ``rows``
    themselves."""
    try:
        import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return rows
    # Column by column: much faster than a DataFrame of dicts for a long history.
    frame = pandas.DataFrame({name: [row[name] for row in rows] for name in columns}, columns=list(columns))
    frame["when"] = pandas.to_datetime(frame["when"], utc=True)
    return frame


def lineage_tree(rows: Sequence[Mapping[str, Any]]) -> str:
    """What was made from what, as text: one line per job of ``rows`` (rows of
    :func:`history_rows`, in any order), each Suno action under the job it worked on, oldest
    first::

        calm piano · job 3f1c2d4e · take 1
        ├── extend track 1 at 1:30 · job 9a8b7c6d
        │   └── stems track 2 · job 0e1f2a3b
        └── cover track 1 · job 5d6e7f80

    A job whose parent is not among ``rows`` starts a tree of its own, its line naming the parent.
    ``%music history --tree`` prints it."""
    known = {row["job_id"] for row in rows if row.get("job_id")}
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: str(r.get("when") or "")):
        parent = row.get("parent_job_id")
        children.setdefault(parent if parent in known else None, []).append(row)
    lines: list[str] = []

    def draw(row: Mapping[str, Any], lead: str, branch: str, seen: frozenset[str]) -> None:
        lines.append(lead + branch + _node(row, root=not branch))
        job_id = row.get("job_id")
        if not job_id or job_id in seen:
            return
        kids = children.get(job_id, [])
        deeper = lead + ("" if not branch else "│   " if branch == "├── " else "    ")
        for n, kid in enumerate(kids):
            draw(kid, deeper, "└── " if n == len(kids) - 1 else "├── ", seen | {job_id})

    for root in children.get(None, []):
        draw(root, "", "", frozenset())
    return "\n".join(lines) if lines else "(no jobs)"


def clock(seconds: float) -> str:
    """Seconds as a player shows them: ``1:30``, ``0:07.5``; ``1:02:03`` past an hour."""
    whole = int(seconds)
    rest = seconds - whole
    hours, minutes, secs = whole // 3600, whole // 60 % 60, whole % 60
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return text + (f"{rest:.1f}".lstrip("0") if rest >= 0.05 else "")


def _node(row: Mapping[str, Any], *, root: bool) -> str:
    job = str(row.get("job_id") or "")[:8] or "not submitted"
    status = "" if row.get("status") == "SAVED" else f" · {str(row.get('status', '')).lower()}"
    action = row.get("action")
    if not action:
        what = row.get("label") or " ".join(str(row.get("prompt") or "").split()[:6]) or "?"
        return f"{what} · {row.get('model')} · job {job} · take {row.get('take')}{status}"
    what = f"{action} track {row.get('parent_track') or 1}"
    at = (row.get("params") or {}).get("continueAt")
    if isinstance(at, (int, float)):
        what += f" at {clock(float(at))}"
    if root:
        what += f" of job {str(row.get('parent_job_id') or '?')[:8]}"
    label = f" · {row['label']}" if row.get("label") else ""
    return f"{what}{label} · job {job}{status}"
