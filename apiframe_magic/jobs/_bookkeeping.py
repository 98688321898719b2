"""The ledger as the job runner uses it: every step written ahead, and a broken ledger never
fails a job.

:class:`Bookkeeping` wraps an optional :class:`~apiframe_magic.ledger.Ledger`. Each call that the
file cannot serve (corrupt, locked for too long, on a full disk) turns the ledger off for the
rest of the run and reports one line through ``warn``; the job itself goes on without the cache.
A read-only ledger stays on: the jobs it holds still answer at no cost, and only its writes are
skipped (reported through ``warn`` as well).
:func:`decide` reads the ledger before a submit and says what to do instead of paying again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from ..analysis import Measurements
from ..client import AnyRequest, Job, Track, request_from_json
from ..ledger import (
    SAVED,
    JobRecord,
    Ledger,
    LedgerUnavailable,
    TrackRecord,
    fingerprint,
    idempotency_key,
)
from ._results import MusicResult, SavedTrack

__all__ = ["MAX_TAKES", "Bookkeeping", "Decision", "decide", "result_from_record"]

T = TypeVar("T")

# How far --fresh looks for an unused take number.
MAX_TAKES = 10_000


class Bookkeeping:
    """An optional ledger whose failures are reported once and never fail a job."""

    def __init__(self, ledger: Ledger | None, warn: Callable[[str], None] | None = None) -> None:
        self.ledger = ledger
        self.warn = warn
        # The job this run submitted itself (a moment ago: no need to look at it at once).
        self.last_submitted: str | None = None

    @property
    def active(self) -> bool:
        return self.ledger is not None

    def call(self, method: Callable[[Ledger], T]) -> T | None:
        """``method(ledger)``, or ``None`` when there is no ledger or it just failed."""
        ledger = self.ledger
        if ledger is None:
            return None
        try:
            return method(ledger)
        except LedgerUnavailable as exc:
            if ledger.read_only and not ledger.closed:
                # Only writing failed: keep it, so what it holds is never paid for again.
                if self.warn is not None:
                    self.warn(f"the job ledger: {exc}")
                return None
            self.ledger = None
            if self.warn is not None:
                self.warn(f"the job ledger is off for this run: {exc}")
            return None

    def typical_seconds(self, request: AnyRequest) -> float | None:
        """How long jobs of this model (and length, where the model takes one) took lately: the
        median of the ledger's last saved ones (each from the service's ``createdAt`` to its
        ``completedAt`` when it gave them, else from submission to the end this client saw; see
        :attr:`~apiframe_magic.ledger.JobRecord.elapsed`), or ``None``."""
        records = self.call(lambda ledger: ledger.history(limit=40, model=request.model)) or []
        name = request.spec.length_param
        length = request.params.get(name) if name else None
        seconds = sorted(
            r.elapsed for r in records
            if r.saved and r.elapsed is not None and r.elapsed > 0
            and (name is None or r.params.get(name) == length)
        )
        return seconds[len(seconds) // 2] if seconds else None

    def status(self, job: Job) -> None:
        self.call(lambda ledger: ledger.status(
            job.id, job.status, progress=job.progress, service_created_at=job.created_at,
            service_completed_at=job.completed_at,
        ))

    def completed(self, result: MusicResult) -> None:
        tracks = [
            TrackRecord.from_file(
                t.index, t.path, duration=t.duration, audio_url=t.audio_url or None, title=t.title,
                measurements=t.measurements.as_dict() if t.measurements is not None else None,
            )
            for t in result.tracks
        ]
        job = result.job
        self.call(lambda ledger: ledger.completed(
            result.job_id, credits=job.credit_cost, tracks=tracks,
            service_created_at=job.created_at, service_completed_at=job.completed_at,
        ))
        if self.ledger is not None and not self.ledger.read_only:
            result.ledger_path = str(self.ledger.path)

    def measured(self, result: MusicResult, measured: Mapping[int, Measurements]) -> None:
        """Record what was measured in the tracks of a saved job."""
        for index, measurements in measured.items():
            data = measurements.as_dict()
            self.call(lambda ledger, i=index, d=data: ledger.measured(  # type: ignore[misc]
                result.job_id, i, d))


@dataclass(frozen=True)
class Decision:
    """What to do with a request, after reading the ledger.

    ``"cached"``: the saved ``record`` answers it at no cost. ``"resume"``: its job
    (``record.job_id``) exists already; wait for it or download it again, never submit.
    ``"submit"``: send it, with ``idempotency_key`` (the same as an unanswered earlier POST of
    it, so the service replays rather than charges twice) as ``take``.
    """

    action: Literal["cached", "resume", "submit"]
    fingerprint: str | None
    take: int
    idempotency_key: str | None = None
    record: JobRecord | None = None


def decide(
    book: Bookkeeping, request: AnyRequest, *, identity: str, take: int = 1, fresh: bool = False
) -> Decision:
    """Read the ledger for ``request`` as take ``take`` (``fresh``: the first take never asked for)."""
    if not book.active:
        return Decision("submit", None, take)

    def fp(number: int) -> str:
        return fingerprint(
            account=identity, model=request.model, prompt=request.prompt, params=request.params,
            take=number,
        )

    if fresh:
        for number in range(take, take + MAX_TAKES):
            found = book.call(lambda ledger, n=number: ledger.lookup(fp(n)))  # type: ignore[misc]
            if found is None:
                return Decision("submit", fp(number), number, idempotency_key(fp(number)))
        take = take + MAX_TAKES
    print_ = fp(take)
    record = book.call(lambda ledger: ledger.lookup(print_))
    if record is None:
        return Decision("submit", print_, take, idempotency_key(print_))
    if record.status == SAVED and record.intact():
        return Decision("cached", print_, take, record=record)
    if record.job_id is not None and (record.pending or record.status == SAVED):
        # Submitted before: wait for it, or (files gone) download it again. Never pay twice.
        return Decision("resume", print_, take, record=record)
    if record.job_id is None and record.status != "FAILED":
        # The POST was sent but its answer never arrived: the same key makes the service replay it.
        return Decision("submit", print_, take, record.idempotency_key, record=record)
    # It failed or was refused: a new attempt with a key of its own (the old one replays the failure).
    return Decision("submit", print_, take, idempotency_key(print_, attempt=record.id))


def result_from_record(record: JobRecord, *, elapsed: float) -> MusicResult:
    """A :class:`MusicResult` for a job the ledger saved, marked as coming from the ledger."""
    request = _request_of(record)
    tracks: list[SavedTrack] = []
    for saved in sorted(record.tracks, key=lambda t: t.index):
        path = _as_saved(Path(saved.path))
        track = Track(audio_url=saved.audio_url or "", title=saved.title, duration=saved.duration)
        tracks.append(SavedTrack(
            index=saved.index, path=path, metadata_path=path.with_suffix(path.suffix + ".json"),
            audio_format=path.suffix.lstrip(".").lower() or "mp3", duration=saved.duration,
            size=saved.size, track=track,
            measurements=Measurements.from_dict(saved.measurements) if saved.measurements else None,
        ))
    job = Job(
        id=record.job_id or "", status="COMPLETED", model=record.model, progress=100,
        tracks=tuple(t.track for t in tracks), credit_cost=record.credits,
        created_at=record.service_created_at,
        completed_at=record.service_completed_at or record.completed_at,
        raw={"id": record.job_id, "status": "COMPLETED"},
    )
    return MusicResult(job=job, request=request, tracks=tuple(tracks), elapsed=elapsed,
                       service=record.service, from_ledger=True)


def _as_saved(path: Path) -> Path:
    """The ledger keeps absolute paths; a file under the working folder is shown relative to it,
    as a fresh run shows it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _request_of(record: JobRecord) -> AnyRequest | None:
    try:
        return request_from_json(record.request)
    except (ValueError, TypeError):
        return None

