"""Job orchestration: submit, wait, download and save, reported to an observer.

This is the part of a ``%%music`` run that has nothing to do with display, so one observer (a
progress bar, a line of text, a cell of a grid) can follow each job while the job logic stays
here. :func:`generate` runs a request end to end; :func:`submit` sends it without waiting;
:func:`resume` picks up a job by its id. Each takes the run's :class:`RunContext` (or its fields
as keywords) and so goes through the same job ledger, budget and measuring as every other path.
None ever submits twice: once a job id exists, every later failure keeps and reports it (every
:class:`~apiframe_magic.ApiframeError` raised after the submit has ``job_id`` set).

Each works with either client: given an :class:`~apiframe_magic.AsyncApiframeClient` it returns
a coroutine to await; given a blocking :class:`~apiframe_magic.ApiframeClient` it blocks and
returns the result.

What is kept holds no credentials: a :class:`MusicResult` records where it came from by name,
and a :class:`MusicJob` keeps a :class:`~apiframe_magic.jobs.Service`, which looks the key
up when it makes a client, so pickling either (or ``%store``) never writes the API key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .._exceptions import (
    ApiframeError,
    APIStatusError,
    DownloadError,
    JobCancelledError,
    JobFailedError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from .._public import public
from ..client import (
    ActionRequest,
    AnyRequest,
    ApiframeClient,
    AsyncApiframeClient,
    Job,
    request_from_json,
)
from ..ledger import NewJob
from ._actions import (
    Parent,
    check_action,
    find_parent,
    join_whole_song,
    lineage_columns,
    lineage_text,
    parent_audio,
    track_names,
    whole_song_path,
    write_whole_song_sidecar,
)
from ._bookkeeping import Bookkeeping, decide, result_from_record
from ._budget import price_top
from ._context import DEFAULT_TIMEOUT, RunContext
from ._expand import BatchItem
from ._files import (
    DEFAULT_OUTPUT_DIR,
    SaveTarget,
    TrackFile,
    track_duration,
    upload_placeholders,
    write_sidecar,
)
from ._ledger_access import open_ledger
from ._measure import measure_off_loop
from ._results import JobObserver, MusicResult, RenamedService, SavedTrack

if TYPE_CHECKING:
    from ._budget import Hold
    from ._service import Service

__all__ = ["MusicJob", "generate", "resume", "submit"]

_T = TypeVar("_T")

@contextlib.contextmanager
def _about_job(job_id: str) -> Iterator[None]:
    """Give every :class:`ApiframeError` raised inside the block this ``job_id`` (if it has none)."""
    try:
        yield
    except ApiframeError as exc:
        if exc.job_id is None:
            exc.job_id = job_id
        raise


def _blocking_or_not(
    client: AsyncApiframeClient | ApiframeClient, work: Coroutine[Any, Any, _T]
) -> Coroutine[Any, Any, _T] | _T:
    """``work`` to await for an async client; its result, blocking, for a blocking one."""
    if isinstance(client, ApiframeClient):
        return client.run(work)
    return work


def _async(client: AsyncApiframeClient | ApiframeClient) -> AsyncApiframeClient:
    return client.aio if isinstance(client, ApiframeClient) else client


@dataclass(frozen=True)
class _Ask:
    """One job as asked for: which take of which request, saved where, labelled how."""

    request: AnyRequest
    save: str | os.PathLike[str] | None = None
    take: int = 1
    fresh: bool = False
    label: str | None = None

    @classmethod
    def of(cls, request: AnyRequest | BatchItem, save: Any, take: int | None, fresh: bool) -> _Ask:
        if isinstance(request, BatchItem):
            return cls(request.request, save, take or request.take, fresh, request.label)
        return cls(request, save, take or 1, fresh)


@overload
def generate(
    client: AsyncApiframeClient, request: AnyRequest | BatchItem, context: RunContext | None = None,
    *, save: str | os.PathLike[str] | None = None, take: int | None = None, fresh: bool = False,
    observer: JobObserver | None = None, **settings: Any,
) -> Coroutine[Any, Any, MusicResult]: ...


@overload
def generate(
    client: ApiframeClient, request: AnyRequest | BatchItem, context: RunContext | None = None,
    *, save: str | os.PathLike[str] | None = None, take: int | None = None, fresh: bool = False,
    observer: JobObserver | None = None, **settings: Any,
) -> MusicResult: ...


@public
def generate(
    client: AsyncApiframeClient | ApiframeClient,
    request: AnyRequest | BatchItem,
    context: RunContext | None = None,
    *,
    save: str | os.PathLike[str] | None = None,
    take: int | None = None,
    fresh: bool = False,
    observer: JobObserver | None = None,
    **settings: Any,
) -> Coroutine[Any, Any, MusicResult] | MusicResult:
    """Submit ``request``, wait for it, download and save its audio with a JSON sidecar, and
    measure it.

    With an :class:`~apiframe_magic.AsyncApiframeClient` this returns a coroutine:
    ``result = await generate(client, request)``; with a blocking
    :class:`~apiframe_magic.ApiframeClient` it blocks and returns the :class:`MusicResult`.

    ``context`` (a :class:`RunContext`), or its fields as keywords (``output_dir=``,
    ``ledger=``, ``budget=``, ``timeout=``, ``measure=``, ``warn=``; ``backend=`` is read as
    ``service=``), says where and how: ``service`` is recorded in the metadata (``"sandbox"`` or
    the API's base URL; by default worked out from the client). A ``save`` file name whose
    extension does not match the request's format is refused with
    :class:`RequestValidationError` before anything is sent; so is a request the ``budget``
    cannot pay for (:class:`~apiframe_magic.BudgetExceededError`). Every
    :class:`ApiframeError` raised after the submission carries the job's ``job_id``; the job is
    never submitted twice.

    With a ``ledger`` (:class:`~apiframe_magic.ledger.Ledger`), every step is written ahead and
    nothing is paid for twice: take ``take`` of the same request (service and account, model,
    prompt, params) saved before with intact files is answered from the ledger
    (``result.from_ledger``, 0 credits); one submitted but not saved is resumed, not
    resubmitted. ``fresh`` asks for the first take never generated. A :class:`BatchItem` brings
    its own take and label.

    ``request`` may be a Suno action (:class:`~apiframe_magic.ActionRequest`: extend, cover,
    add_vocals, stems), run exactly so; its parent is checked before a credit is spent (from the
    ledger when it saved the parent, else with a free ``GET``), the ledger records its lineage,
    and an extension's whole song is joined here (``result.whole_song()``).

    With ``measure`` (the default), every track not measured yet is measured once saved (on an
    executor, so other jobs on the loop go on) and the measurements are recorded in the ledger; a
    result the ledger answers carries the ones it stored.
    """
    ctx = RunContext.of(context, **settings)
    ask = _Ask.of(request, save, take, fresh)
    return _blocking_or_not(client, _generate(_async(client), ask, ctx, observer))


async def _generate(
    client: AsyncApiframeClient, ask: _Ask, ctx: RunContext, observer: JobObserver | None
) -> MusicResult:
    started = time.monotonic()
    book = Bookkeeping(ctx.ledger, ctx.say)
    answer = await _submit_or_answer(client, ask, ctx, book, started)
    if isinstance(answer, MusicResult):
        return await _measured(await _action_extras(client, answer, book), ctx, book)
    job_id, hold = answer
    just_submitted = hold is not None
    with _about_job(job_id):
        if observer is not None:
            observer.submitted(job_id)
        result = await _finish(
            client, job_id, ask.request, ctx, book, _Watch(
                observer, started, hold=hold, look_first=not just_submitted,
                expected_seconds=book.typical_seconds(ask.request) if just_submitted else None,
                save=ask.save,
            ),
        )
        result = await _action_extras(client, result, book)
    return await _measured(result, ctx, book)


async def _action_extras(client: AsyncApiframeClient, result: MusicResult, book: Bookkeeping) -> MusicResult:
    """What an action's result adds, the same whichever way it came (just made, answered by the
    ledger, resumed): what it came from, and an extension's whole song, joined once (a whole song
    already beside the extension is kept)."""
    request = result.request
    if not isinstance(request, ActionRequest):
        return result
    parent: Parent | None
    try:
        parent = await find_parent(client, request, book)
    except ApiframeError:
        parent = None  # the service no longer knows it: the result still says what it came from
    result.lineage = lineage_text(request, parent.label if parent is not None else None)
    if request.action != "extend" or parent is None:
        return result
    wholes: list[Path] = []
    try:
        for track in result.tracks:
            target = whole_song_path(track.path)
            if not target.is_file():
                source = await parent_audio(client, request, parent, track.path)
                await asyncio.get_running_loop().run_in_executor(
                    None, join_whole_song, source, track.path, request.continue_at, target)
                write_whole_song_sidecar(target, source, track.path, request)
            wholes.append(target)
    except (ApiframeError, OSError, ValueError, RuntimeError) as exc:
        # The extension is saved and paid for: a whole song that cannot be joined is a warning.
        if book.warn is not None:
            book.warn(f"could not join the whole song of job {result.job_id}: {exc}")
    result.whole_songs = tuple(wholes)
    return result


async def _measured(result: MusicResult, ctx: RunContext, book: Bookkeeping) -> MusicResult:
    """``result`` measured as the context says (the one place a generated result is measured)."""
    if ctx.measure:
        await measure_off_loop(result, book.ledger, ctx.measure_with)
    return result


@overload
def submit(
    client: AsyncApiframeClient, request: AnyRequest | BatchItem, context: RunContext | None = None,
    *, save: str | os.PathLike[str] | None = None, take: int | None = None, fresh: bool = False,
    **settings: Any,
) -> Coroutine[Any, Any, MusicResult | str]: ...


@overload
def submit(
    client: ApiframeClient, request: AnyRequest | BatchItem, context: RunContext | None = None,
    *, save: str | os.PathLike[str] | None = None, take: int | None = None, fresh: bool = False,
    **settings: Any,
) -> MusicResult | str: ...


@public
def submit(
    client: AsyncApiframeClient | ApiframeClient,
    request: AnyRequest | BatchItem,
    context: RunContext | None = None,
    *,
    save: str | os.PathLike[str] | None = None,
    take: int | None = None,
    fresh: bool = False,
    **settings: Any,
) -> Coroutine[Any, Any, MusicResult | str] | MusicResult | str:
    """Submit without waiting (``%%music --no-wait``), through the ledger and the budget as
    :func:`generate` does: the saved result when the ledger answers, else the job id (of a new
    job, or of the one already submitted for this request), to :func:`resume` later. Its credits
    stay reserved in the ``budget`` (at the top of the price) until it is collected."""
    ctx = RunContext.of(context, **settings)
    ask = _Ask.of(request, save, take, fresh)

    async def run() -> MusicResult | str:
        answer = await _submit_or_answer(_async(client), ask, ctx, Bookkeeping(ctx.ledger, ctx.say),
                                         time.monotonic())
        return answer if isinstance(answer, MusicResult) else answer[0]

    return _blocking_or_not(client, run())


async def _submit_or_answer(
    client: AsyncApiframeClient, ask: _Ask, ctx: RunContext, book: Bookkeeping, started: float
) -> MusicResult | tuple[str, Hold | None]:
    """The saved result the ledger holds for ``ask``, or the id of its job: one submitted before
    (never pay twice; no credits held), or one submitted now, written ahead in the ledger, with
    the credits the budget holds for it."""
    request = ask.request
    SaveTarget.parse(ask.save, ctx.output_dir).check_extension(request.audio_format.extension)
    identity = ctx.account_of(client)
    decision = decide(book, request, identity=identity, take=ask.take, fresh=ask.fresh)
    if decision.action == "cached" and decision.record is not None:
        cached = result_from_record(decision.record, elapsed=time.monotonic() - started)
        cached.ledger_path = str(book.ledger.path) if book.ledger is not None else None
        return cached
    if decision.action == "resume" and decision.record is not None and decision.record.job_id:
        return decision.record.job_id, None
    if isinstance(request, ActionRequest):
        # What the service would refuse (a 409 or a 400 about the parent) costs nothing here.
        await check_action(client, request, book)
    earlier = decision.record
    record = earlier if earlier is not None and earlier.job_id is None \
        and earlier.idempotency_key == decision.idempotency_key else None
    # Local files go up now, once: a POST sent again sends the body written ahead, so the
    # service replays it (a new upload's URL would be another body).
    if record is not None and record.request != request.to_json():
        sent = request_from_json(record.request)
    else:
        sent = await upload_placeholders(client.upload, request)
    hold = ctx.budget.reserve(request) if ctx.budget is not None else None
    if record is None and decision.fingerprint is not None and decision.idempotency_key is not None:
        print_, key = decision.fingerprint, decision.idempotency_key
        record = book.call(lambda ledger: ledger.begin(NewJob(
            fingerprint=print_, account=identity, service=ctx.service_of(client),
            model=request.model, prompt=request.prompt,
            params=request.params, take=decision.take, request=sent.to_json(),
            idempotency_key=key, output_dir=ctx.output_dir, save=ask.save, label=ask.label,
            reserved=price_top(request), **lineage_columns(request),
        )))
    try:
        submitted = await client.submit(sent, idempotency_key=decision.idempotency_key)
    except BaseException as exc:
        if hold is not None:
            # No job came of it; a retry (same key, replayed) reserves again.
            hold.release()
        if isinstance(exc, APIStatusError) and record is not None \
                and not isinstance(exc, (RateLimitError, ServerError)):
            # A definite refusal: no job exists. (No answer at all, a 429 or a 5xx may pass: the
            # row is left to be sent again with the same key, which replays any job it started.)
            refused, why = record, str(exc)
            book.call(lambda ledger: ledger.refused(refused.id, error=why))
        raise
    if record is not None:
        written = record
        book.call(lambda ledger: ledger.submitted(written.id, submitted.job_id))
    return submitted.job_id, hold


@overload
def resume(
    client: AsyncApiframeClient, job_id: str, context: RunContext | None = None, *,
    save: str | os.PathLike[str] | None = None, observer: JobObserver | None = None, **settings: Any,
) -> Coroutine[Any, Any, MusicResult]: ...


@overload
def resume(
    client: ApiframeClient, job_id: str, context: RunContext | None = None, *,
    save: str | os.PathLike[str] | None = None, observer: JobObserver | None = None, **settings: Any,
) -> MusicResult: ...


@public
def resume(
    client: AsyncApiframeClient | ApiframeClient,
    job_id: str,
    context: RunContext | None = None,
    *,
    save: str | os.PathLike[str] | None = None,
    observer: JobObserver | None = None,
    **settings: Any,
) -> Coroutine[Any, Any, MusicResult] | MusicResult:
    """Wait for an existing job (submitted earlier, perhaps by an interrupted cell or a kernel
    that died) and save it; awaited with an async client, blocking with a blocking one.

    With a ledger that knows the job, its request is known and, unless ``output_dir`` or
    ``save`` (given here, not in ``context``) say otherwise, it is saved where its cell would have
    saved it. Every
    :class:`ApiframeError` it raises carries ``job_id``. A job the service does not know
    (:class:`~apiframe_magic.NotFoundError`) is marked so in the ledger, so that it is not
    waited for again. Measuring as for :func:`generate`."""
    given_dir = settings.get("output_dir")
    ctx = RunContext.of(context, **settings)
    return _blocking_or_not(client, _resume(_async(client), job_id, ctx, save, observer, given_dir))


async def _resume(
    client: AsyncApiframeClient, job_id: str, ctx: RunContext, save: str | os.PathLike[str] | None,
    observer: JobObserver | None, given_dir: Any,
) -> MusicResult:
    book = Bookkeeping(ctx.ledger, ctx.say)
    record = book.call(lambda ledger: ledger.get(job_id))
    request = None
    if record is not None:
        with contextlib.suppress(ValueError, TypeError):
            request = request_from_json(record.request)
        if given_dir is None and save is None:
            ctx = RunContext.of(ctx, output_dir=record.output_dir or DEFAULT_OUTPUT_DIR)
            save = record.save
    with _about_job(job_id):
        if observer is not None:
            observer.submitted(job_id)
        watch = _Watch(observer, time.monotonic(), save=save)
        result = await _finish(client, job_id, request, ctx, book, watch)
        result = await _action_extras(client, result, book)
    return await _measured(result, ctx, book)


@dataclass
class _Watch:
    """How one wait goes: who hears about it, since when, and what the budget holds for it."""

    observer: JobObserver | None
    started: float
    hold: Hold | None = None
    look_first: bool = True
    expected_seconds: float | None = None
    save: str | os.PathLike[str] | None = None


async def _finish(
    client: AsyncApiframeClient, job_id: str, request: AnyRequest | None, ctx: RunContext,
    book: Bookkeeping, watch: _Watch,
) -> MusicResult:
    observer = watch.observer

    def progress(job: Job) -> None:
        book.status(job)
        if observer is not None:
            observer.progress(job)

    try:
        job = await client.wait(
            job_id, timeout=ctx.timeout, on_progress=progress, expected_seconds=watch.expected_seconds,
            look_first=watch.look_first,
        )
    except (JobFailedError, JobCancelledError) as exc:
        status = "CANCELLED" if isinstance(exc, JobCancelledError) else "FAILED"
        reason = exc.reason if isinstance(exc, JobFailedError) else None
        book.call(lambda ledger: ledger.failed(job_id, status=status, error=reason))
        if watch.hold is not None:
            watch.hold.release()  # the service refunds a failed job
        raise
    except NotFoundError as exc:
        # The service does not know the job (another account's, or purged): mark it, so that no
        # later run waits for it again, and say what to do in the one line the error makes.
        book.call(lambda ledger: ledger.failed(job_id, error="not found on the service"))
        exc.job_id = job_id
        raise
    if request is None:
        request = _request_from_job(job)
    tracks = [t for t in job.tracks if t.audio_url]
    if not tracks:
        raise DownloadError(f"job {job_id} completed without an audio URL", url="", job_id=job_id)
    if observer is not None:
        observer.downloading(job)

    expected = request.audio_format.extension if request else "mp3"
    target = SaveTarget.parse(watch.save, ctx.output_dir)
    numbered = len(tracks) > 1
    names = track_names(request, tracks)
    paths = [
        target.audio_path(request, job_id, expected, take=names[n] or (n + 1 if numbered else None))
        for n in range(len(tracks))
    ]
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    # Every track at once. The URL and the request can disagree with the bytes; the bytes win,
    # and the download renames the file to match them (a given ``save`` name included).
    try:
        downloads = await asyncio.gather(*(
            client.download(track.audio_url, path, job_id=job_id, expired=job.expired)
            for track, path in zip(tracks, paths, strict=True)
        ))
    except DownloadError as exc:
        if exc.purged:
            raise _purged(exc, job_id, book) from exc
        raise
    elapsed = time.monotonic() - watch.started
    service = ctx.service_of(client)
    saved: list[SavedTrack] = []
    for index, (track, downloaded) in enumerate(zip(tracks, downloads, strict=True)):
        container = downloaded.container or expected
        duration = track_duration(downloaded.path, container, track, request)
        metadata_path = write_sidecar(job, request, TrackFile(
            index, len(tracks), downloaded.path, container, duration, downloaded.size,
        ), elapsed, service)
        saved.append(SavedTrack(
            index=index, path=downloaded.path, metadata_path=metadata_path, audio_format=container,
            duration=duration, size=downloaded.size, track=track,
        ))
    result = MusicResult(job=job, request=request, tracks=tuple(saved), elapsed=elapsed, service=service)
    if watch.hold is not None:
        watch.hold.settle(job.credit_cost)
    book.completed(result)
    return result


def _purged(error: DownloadError, job_id: str, book: Bookkeeping) -> DownloadError:
    """The one line for a job whose files the service purged: where the local copy the ledger
    saved is, if it has one still intact."""
    record = book.call(lambda ledger: ledger.get(job_id))
    kept = [t.path for t in record.tracks if t.intact()] if record is not None else []
    where = f"; the local copy: {', '.join(kept)}" if kept else "; the ledger has no local copy"
    return DownloadError(f"{error}{where}", url=error.url, job_id=job_id, purged=True)


def _request_from_job(job: Job) -> AnyRequest | None:
    body = job.raw.get("input")
    if not isinstance(body, Mapping):
        return None
    try:
        return request_from_json(body)
    except ValueError:
        return None


@public
@dataclass
class MusicJob(RenamedService):
    """A submitted job not collected yet (``%%music --no-wait``, or a run interrupted or failed
    after submission).

    ``status()`` looks at it once; ``result()`` waits for it, downloads and saves it, exactly as
    ``%music resume`` does, and records it in the job ledger at ``ledger_path`` (a path, so a
    pickled handle stays a plain value).
    """

    job_id: str
    request: AnyRequest | None
    service: Service = field(repr=False)
    output_dir: str = DEFAULT_OUTPUT_DIR
    save: str | None = None
    ledger_path: str | None = field(default=None, repr=False)

    def status(self) -> Job:
        """The job as the server sees it now."""
        with _about_job(self.job_id):
            return self.service.call(lambda client: client.get_job(self.job_id))

    def result(
        self, timeout: float | None = DEFAULT_TIMEOUT, observer: JobObserver | None = None, *,
        measure: bool = True,
    ) -> MusicResult:
        """Wait for the job to finish, then download, save and (``measure``) measure it."""

        ledger = open_ledger(self.ledger_path, self.output_dir) if self.ledger_path else None
        try:
            context = RunContext(service=self.service.name, account=self.service.account,
                                 output_dir=self.output_dir, ledger=ledger, timeout=timeout,
                                 measure=measure)
            result = self.service.call(lambda client: resume(
                client, self.job_id, context, save=self.save, observer=observer,
            ))
        finally:
            if ledger is not None:
                ledger.close()
        if result.request is None and self.request is not None:
            result.request = self.request
        return result

    @property
    def backend(self) -> Service:
        """Deprecated name of :attr:`service`."""
        return self.service

    def __repr__(self) -> str:
        return (f"<MusicJob {self.job_id} not collected yet: "
                f".status(), .result() or %music resume {self.job_id}>")
