"""Job orchestration: submit, wait, download and save, reported to an observer.

This is the part of a ``%%music`` run that has nothing to do with display, so one observer (a
progress bar, a line of text, a cell of a grid) can follow each job while the job logic stays
here. :func:`generate` runs a request end to end; :func:`resume` picks up a job by its id.
Neither ever submits twice: once a job id exists, every later failure keeps and reports it
(every :class:`~apiframe_magic.ApiframeError` raised after the submit has ``job_id`` set).

What is kept holds no credentials: a :class:`MusicResult` records where it came from by name,
and a :class:`MusicJob` keeps a :class:`~apiframe_magic.jobs.Backend`, which looks the key
up when it makes a client, so pickling either (or ``%store``) never writes the API key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._exceptions import (
    ApiframeError,
    APIStatusError,
    DownloadError,
    JobCancelledError,
    JobFailedError,
    RateLimitError,
    ServerError,
)
from .._public import public
from ..client import Job, MusicRequest
from ..ledger import Ledger
from ._bookkeeping import Bookkeeping, account_identity, decide, result_from_record
from ._files import DEFAULT_OUTPUT_DIR, SaveTarget, track_duration, write_sidecar
from ._ledger_access import open_ledger
from ._results import JobObserver, MusicResult, SavedTrack, in_measuring_thread, measure_tracks

if TYPE_CHECKING:
    from ..client import AsyncApiframeClient
    from ._backend import Backend

__all__ = ["MusicJob", "generate", "resume", "submit"]

@contextlib.contextmanager
def _about_job(job_id: str) -> Iterator[None]:
    """Give every :class:`ApiframeError` raised inside the block this ``job_id`` (if it has none)."""
    try:
        yield
    except ApiframeError as exc:
        if exc.job_id is None:
            exc.job_id = job_id
        raise


@public
async def generate(
    client: AsyncApiframeClient,
    request: MusicRequest,
    *,
    backend: str,
    output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT_DIR,
    save: str | os.PathLike[str] | None = None,
    timeout: float | None = 600.0,
    observer: JobObserver | None = None,
    ledger: Ledger | None = None,
    take: int = 1,
    fresh: bool = False,
    label: str | None = None,
    before_submit: Callable[[MusicRequest], None] | None = None,
    warn: Callable[[str], None] | None = None,
    measure: bool = True,
) -> MusicResult:
    """Submit ``request``, wait for it, download and save its audio with a JSON sidecar.

    ``backend`` is recorded in the metadata (``"sandbox"`` or the API's base URL). A ``save``
    file name whose extension does not match the request's format is refused with
    :class:`RequestValidationError` before anything is sent. Every :class:`ApiframeError`
    raised after the submission carries the job's ``job_id``; the job is never submitted twice.

    With a ``ledger`` (:class:`~apiframe_magic.ledger.Ledger`), every step is written ahead and
    nothing is paid for twice: take ``take`` of the same request (backend and account, model,
    prompt, params) saved before with intact files is answered from the ledger
    (``result.from_ledger``, 0 credits); one submitted but not saved is resumed, not
    resubmitted. ``fresh`` asks for the first take never generated. ``before_submit`` is called
    only when a request is really about to be sent (a budget check raises there); ``warn`` hears
    one line if the ledger fails, after which the job goes on without it.

    With ``measure`` (the default), every track not measured yet is measured once saved
    (:meth:`MusicResult.measure`, on a worker thread, so other jobs on the loop go on) and the
    measurements are recorded in the ledger; a result the ledger answers carries the ones it
    stored. ``measure=False`` leaves that to the caller (the magic shows the player first).
    """
    started = time.monotonic()
    book = Bookkeeping(ledger, warn)
    answer = await _submit_or_answer(
        client, request, backend=backend, output_dir=output_dir, save=save, book=book, take=take,
        fresh=fresh, label=label, before_submit=before_submit, started=started,
    )
    if isinstance(answer, MusicResult):
        return await _measured(answer, book) if measure else answer
    just_submitted = book.last_submitted == answer
    with _about_job(answer):
        if observer is not None:
            observer.submitted(answer)
        result = await _finish(
            client, answer, request, backend=backend, output_dir=output_dir, save=save,
            timeout=timeout, observer=observer, started=started, book=book,
            expected_seconds=book.typical_seconds(request) if just_submitted else None,
            look_first=not just_submitted,
        )
    return await _measured(result, book) if measure else result


async def _measured(result: MusicResult, book: Bookkeeping) -> MusicResult:
    """``result`` with every track measured, recorded in the ledger; decoding and analysis run on
    a worker thread so that the event loop (other jobs of a batch, a progress view) goes on."""
    measured = await in_measuring_thread(measure_tracks, result)
    book.measured(result, measured)
    return result


@public
async def submit(
    client: AsyncApiframeClient,
    request: MusicRequest,
    *,
    backend: str,
    output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT_DIR,
    save: str | os.PathLike[str] | None = None,
    ledger: Ledger | None = None,
    take: int = 1,
    fresh: bool = False,
    label: str | None = None,
    before_submit: Callable[[MusicRequest], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> MusicResult | str:
    """Submit without waiting (``%%music --no-wait``), through the ledger as :func:`generate`
    does: the saved result when the ledger answers, else the job id (of a new job, or of the one
    already submitted for this request), to :func:`resume` later."""
    return await _submit_or_answer(
        client, request, backend=backend, output_dir=output_dir, save=save,
        book=Bookkeeping(ledger, warn), take=take, fresh=fresh, label=label,
        before_submit=before_submit, started=time.monotonic(),
    )


async def _submit_or_answer(
    client: AsyncApiframeClient,
    request: MusicRequest,
    *,
    backend: str,
    output_dir: str | os.PathLike[str],
    save: str | os.PathLike[str] | None,
    book: Bookkeeping,
    take: int,
    fresh: bool,
    label: str | None,
    before_submit: Callable[[MusicRequest], None] | None,
    started: float,
) -> MusicResult | str:
    """The saved result the ledger holds for ``request``, or the id of its job: one submitted
    before (never pay twice), or one submitted now, written ahead in the ledger."""
    SaveTarget.parse(save, output_dir).check_extension(request.audio_format.extension)
    identity = account_identity(client, backend)
    decision = decide(book, request, identity=identity, take=take, fresh=fresh)
    if decision.action == "cached" and decision.record is not None:
        cached = result_from_record(decision.record, elapsed=time.monotonic() - started)
        cached.ledger_path = str(book.ledger.path) if book.ledger is not None else None
        return cached
    if decision.action == "resume" and decision.record is not None and decision.record.job_id:
        return decision.record.job_id
    if before_submit is not None:
        before_submit(request)
    earlier = decision.record
    record = earlier if earlier is not None and earlier.job_id is None \
        and earlier.idempotency_key == decision.idempotency_key else None
    if record is None and decision.fingerprint is not None and decision.idempotency_key is not None:
        print_, key = decision.fingerprint, decision.idempotency_key
        record = book.call(lambda ledger: ledger.begin(
            fingerprint=print_, backend=identity, model=request.model, prompt=request.prompt,
            params=request.params, take=decision.take, request=request.to_json(),
            idempotency_key=key, output_dir=output_dir, save=save, label=label,
            reserved=request.credit_cost,
        ))
    try:
        submitted = await client.submit(request, idempotency_key=decision.idempotency_key)
    except APIStatusError as exc:
        # A definite refusal: no job exists. (No answer at all, a 429 or a 5xx may pass: the row
        # is left to be sent again with the same key, which replays any job it started.)
        if record is not None and not isinstance(exc, (RateLimitError, ServerError)):
            refused, why = record, str(exc)
            book.call(lambda ledger: ledger.refused(refused.id, error=why))
        raise
    if record is not None:
        written = record
        book.call(lambda ledger: ledger.submitted(written.id, submitted.job_id))
    book.last_submitted = submitted.job_id
    return submitted.job_id


@public
async def resume(
    client: AsyncApiframeClient,
    job_id: str,
    *,
    backend: str,
    output_dir: str | os.PathLike[str] | None = None,
    save: str | os.PathLike[str] | None = None,
    timeout: float | None = 600.0,
    observer: JobObserver | None = None,
    ledger: Ledger | None = None,
    warn: Callable[[str], None] | None = None,
    measure: bool = True,
) -> MusicResult:
    """Wait for an existing job (submitted earlier, perhaps by an interrupted cell or a kernel
    that died) and save it.

    With a ``ledger`` that knows the job, its request is known and, unless ``output_dir`` or
    ``save`` say otherwise, it is saved where its cell would have saved it. Every
    :class:`ApiframeError` it raises carries ``job_id``. ``measure`` as for :func:`generate`."""
    book = Bookkeeping(ledger, warn)
    record = book.call(lambda ledger: ledger.get(job_id))
    request = None
    if record is not None:
        with contextlib.suppress(ValueError, TypeError):
            request = MusicRequest.from_json(record.request)
        if output_dir is None and save is None:
            output_dir, save = record.output_dir, record.save
    with _about_job(job_id):
        if observer is not None:
            observer.submitted(job_id)
        result = await _finish(
            client, job_id, request, backend=backend, output_dir=output_dir or DEFAULT_OUTPUT_DIR,
            save=save, timeout=timeout, observer=observer, started=time.monotonic(), book=book,
        )
    return await _measured(result, book) if measure else result


async def _finish(
    client: AsyncApiframeClient,
    job_id: str,
    request: MusicRequest | None,
    *,
    backend: str,
    output_dir: str | os.PathLike[str],
    save: str | os.PathLike[str] | None,
    timeout: float | None,
    observer: JobObserver | None,
    started: float,
    book: Bookkeeping | None = None,
    expected_seconds: float | None = None,
    look_first: bool = True,
) -> MusicResult:
    book = book or Bookkeeping(None)

    def progress(job: Job) -> None:
        book.status(job)
        if observer is not None:
            observer.progress(job)

    try:
        job = await client.wait(
            job_id, timeout=timeout, on_progress=progress, expected_seconds=expected_seconds,
            look_first=look_first,
        )
    except (JobFailedError, JobCancelledError) as exc:
        status = "CANCELLED" if isinstance(exc, JobCancelledError) else "FAILED"
        reason = exc.reason if isinstance(exc, JobFailedError) else None
        book.call(lambda ledger: ledger.failed(job_id, status=status, error=reason))
        raise
    if request is None:
        request = _request_from_job(job)
    tracks = [t for t in job.tracks if t.audio_url]
    if not tracks:
        raise DownloadError(f"job {job_id} completed without an audio URL", url="", job_id=job_id)
    if observer is not None:
        observer.downloading(job)

    expected = request.audio_format.extension if request else "mp3"
    target = SaveTarget.parse(save, output_dir)
    prompt = request.prompt if request else None
    numbered = len(tracks) > 1
    paths = [
        target.audio_path(prompt, job_id, expected, take=n + 1 if numbered else None)
        for n in range(len(tracks))
    ]
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    # Every track at once. The URL and the request can disagree with the bytes; the bytes win,
    # and the download renames the file to match them (a given ``save`` name included).
    downloads = await asyncio.gather(*(
        client.download(track.audio_url, path, job_id=job_id)
        for track, path in zip(tracks, paths, strict=True)
    ))
    elapsed = time.monotonic() - started
    saved: list[SavedTrack] = []
    for index, (track, downloaded) in enumerate(zip(tracks, downloads, strict=True)):
        container = downloaded.container or expected
        duration = track_duration(downloaded.path, container, track, request)
        metadata_path = write_sidecar(
            job, request, index, len(tracks), downloaded.path, container, duration, elapsed, backend,
            downloaded.size,
        )
        saved.append(SavedTrack(
            index=index, path=downloaded.path, metadata_path=metadata_path, audio_format=container,
            duration=duration, size=downloaded.size, track=track,
        ))
    result = MusicResult(job=job, request=request, tracks=tuple(saved), elapsed=elapsed, backend=backend)
    book.completed(result)
    return result


def _request_from_job(job: Job) -> MusicRequest | None:
    body = job.raw.get("input")
    if not isinstance(body, Mapping):
        return None
    try:
        return MusicRequest.from_json(body)
    except ValueError:
        return None


@public
@dataclass
class MusicJob:
    """A submitted job not collected yet (``%%music --no-wait``, or a run interrupted or failed
    after submission).

    ``status()`` looks at it once; ``result()`` waits for it, downloads and saves it, exactly as
    ``%music resume`` does, and records it in the job ledger at ``ledger_path`` (a path, so a
    pickled handle stays a plain value).
    """

    job_id: str
    request: MusicRequest | None
    backend: Backend = field(repr=False)
    output_dir: str = DEFAULT_OUTPUT_DIR
    save: str | None = None
    ledger_path: str | None = field(default=None, repr=False)

    def status(self) -> Job:
        """The job as the server sees it now."""
        with _about_job(self.job_id):
            return self.backend.call(lambda client: client.get_job(self.job_id))

    def result(
        self, timeout: float | None = 600.0, observer: JobObserver | None = None, *, measure: bool = True
    ) -> MusicResult:
        """Wait for the job to finish, then download, save and (``measure``) measure it."""

        ledger = open_ledger(self.ledger_path, self.output_dir) if self.ledger_path else None
        try:
            result = self.backend.call(lambda client: resume(
                client, self.job_id, backend=self.backend.name, output_dir=self.output_dir,
                save=self.save, timeout=timeout, observer=observer, ledger=ledger, measure=measure,
            ))
        finally:
            if ledger is not None:
                ledger.close()
        if result.request is None and self.request is not None:
            result.request = self.request
        return result

    def __repr__(self) -> str:
        return (f"<MusicJob {self.job_id} not collected yet: "
                f".status(), .result() or %music resume {self.job_id}>")
