"""Many jobs at once, run concurrently on one client: the batch as data, and its runner.

:func:`run_batch` runs :class:`~apiframe_magic.BatchItem` objects (from
:func:`~apiframe_magic.expand`) through :func:`~apiframe_magic.generate` (so the job ledger
answers jobs already done and resumes jobs already submitted: re-running a batch pays only for
the rest), at most ``concurrency`` at a time (else the account's ``maxConcurrentJobs`` from
``GET /v2/me``), queued locally beyond that. A job that fails (``FAILED``, a timeout, a download
error) is recorded on its :class:`BatchEntry` and does not stop the others. A submit refused with
``429`` is sent again after its ``Retry-After``, and every other job waits that long before its
own submit, so no job is dropped or paid twice.

:func:`start_batch` starts the same run in the background and returns its :class:`Batch` at once:
finished jobs are there while the rest run; :meth:`Batch.wait` (or ``await batch``) waits for the
rest and :meth:`Batch.cancel` stops them, keeping every job id.

A :class:`Batch` is list-like over results (``batch[i]``), with :attr:`Batch.entries` for the
status, job id and error of every item, :attr:`Batch.failed`, :meth:`Batch.to_dataframe` (with
what was measured in each job's first track) and :meth:`Batch.plot`. Each job is measured in
its own worker once downloaded (``measure=False`` skips it), so one job's analysis holds up no
other job.
Nothing here imports IPython: a grid of cards follows a batch through ``observer_for`` (one
:class:`~apiframe_magic.jobs.JobObserver` per job) and ``on_change`` (every status change).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from .._exceptions import (
    ApiframeError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    TransportError,
)
from .._public import public
from ..analysis import plot_measurements
from ..client import DEFAULT_RETRY_AFTER, AnyRequest, ApiframeClient, Backoff, Job
from ..ledger import MEASUREMENT_COLUMNS
from ._adherence import ADHERENCE_COLUMNS, adherence_columns
from ._bookkeeping import Bookkeeping, decide
from ._context import RunContext
from ._expand import BatchItem
from ._measure import measure_off_loop
from ._results import JobObserver, MusicResult
from ._run import generate

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]  # an optional extra
    from matplotlib.figure import Figure

    from ..client import AsyncApiframeClient

__all__ = [
    "BATCH_COLUMNS",
    "DEFAULT_CONCURRENCY",
    "DONE",
    "FAILED",
    "RUNNING",
    "STOPPED",
    "WAITING",
    "Batch",
    "BatchEntry",
    "run_batch",
    "start_batch",
]

# How many jobs run at once when neither the caller nor GET /v2/me says.
DEFAULT_CONCURRENCY = 4
# How many times a batch sends a submit again after an outage or a lost answer (with a ledger).
SUBMIT_RETRIES = 5
# The pause before each of those: 1, 2, 4, 8, 8 s, with jitter, so a fleet of jobs does not retry in step.
SUBMIT_BACKOFF = Backoff(base=1.0, cap=8.0, jitter="equal")

# What a BatchEntry can be. Lower case, so they never read as the service's job statuses.
WAITING = "waiting"  # for a free slot, locally: nothing sent yet
RUNNING = "running"
DONE = "done"
FAILED = "failed"
STOPPED = "stopped"  # cancelled or interrupted; its job id, if it has one, is kept
ENDED = frozenset({DONE, FAILED, STOPPED})

BATCH_COLUMNS = (
    "label", "prompt", "take", "model", "params", "job_id", "status", "credits", "path", "duration",
    "error", *MEASUREMENT_COLUMNS, *ADHERENCE_COLUMNS,
)

# ---------------------------------------------------------------------------------------------
# Entries and the batch: what happened
# ---------------------------------------------------------------------------------------------


@public
@dataclass
class BatchEntry:
    """How one item of a batch is doing: ``status`` (``"waiting"`` for a free slot, ``"running"``,
    ``"done"``, ``"failed"`` or ``"stopped"``), its ``job_id`` once submitted, the last ``job``
    snapshot seen while it runs, and at the end its ``result`` or its ``error``.

    Done means saved: the entry is ``"done"`` (and ``ended_at`` set) the moment its audio is
    saved. The tracks are measured afterwards, with ``measuring`` true meanwhile; ``on_change``
    hears the entry again, ``measuring`` false, once its measurements are in (or measuring was
    stopped), so a grid fills the measurements in under a player already shown."""

    item: BatchItem
    status: str = WAITING
    job_id: str | None = None
    job: Job | None = field(default=None, repr=False)
    result: MusicResult | None = field(default=None, repr=False)
    error: BaseException | None = field(default=None, repr=False)
    started_at: float | None = field(default=None, repr=False)
    ended_at: float | None = field(default=None, repr=False)
    measuring: bool = field(default=False, repr=False)

    @property
    def label(self) -> str:
        return self.item.label

    @property
    def request(self) -> AnyRequest:
        return self.item.request

    @property
    def take(self) -> int:
        return self.item.take

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def progress(self) -> int | None:
        """The job's progress (0 to 100) as last reported; 100 once done."""
        if self.status == DONE:
            return 100
        return self.job.progress if self.job is not None else None

    @property
    def elapsed(self) -> float | None:
        """Seconds since it left the local queue (to its end, once ended)."""
        if self.started_at is None:
            return None
        return (self.ended_at if self.ended_at is not None else time.monotonic()) - self.started_at

    @property
    def credits(self) -> int | None:
        """What it cost: the service's charge, 0 when the ledger answered; ``None`` unless done."""
        return self.result.credits if self.result is not None else None

    @property
    def reason(self) -> str | None:
        """Why it failed (or stopped), in one line; ``None`` otherwise."""
        if self.status == STOPPED:
            if self.job_id:
                return f"still running on the server as job {self.job_id}: resume it to collect it"
            return "not submitted: nothing was charged"
        if self.error is None:
            return None
        text = " ".join(str(self.error).split()) or type(self.error).__name__
        return text if isinstance(self.error, ApiframeError) else f"{type(self.error).__name__}: {text}"


class _Slot:
    """One place among the ``concurrency`` allowed, given back once (early, when the job is
    downloading: it no longer counts against the account's running jobs)."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._held = False

    async def __aenter__(self) -> _Slot:
        await self._semaphore.acquire()
        self._held = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()


class _Gate:
    """Where a 429's ``Retry-After`` holds back every submit of the batch, not only the refused one."""

    def __init__(self) -> None:
        self.until = 0.0

    def hold(self, seconds: float) -> None:
        self.until = max(self.until, time.monotonic() + seconds)

    async def pass_(self) -> None:
        while (left := self.until - time.monotonic()) > 0:
            await asyncio.sleep(left)


class _EntryObserver:
    """Keeps the entry up to date (its job id as soon as there is one), frees the slot once the
    job is downloading, and passes everything on to the job's own observer."""

    def __init__(
        self, entry: BatchEntry, inner: JobObserver | None, slot: _Slot, changed: Callable[[BatchEntry], None]
    ) -> None:
        self.entry, self.inner, self.slot, self.changed = entry, inner, slot, changed

    def submitted(self, job_id: str) -> None:
        self.entry.job_id = job_id
        self.changed(self.entry)
        if self.inner is not None:
            self.inner.submitted(job_id)

    def progress(self, job: Job) -> None:
        self.entry.job = job
        if self.inner is not None:
            self.inner.progress(job)

    def downloading(self, job: Job) -> None:
        self.entry.job = job
        self.slot.release()
        if self.inner is not None:
            self.inner.downloading(job)


@public
class Batch(Sequence[MusicResult]):
    """The jobs of one batch, filled in as they finish.

    List-like over results: ``batch[i]`` is item ``i``'s :class:`MusicResult`; it raises the
    job's error if the job failed, and :class:`RuntimeError` while it has not finished (or was
    stopped). ``len(batch)`` counts items; iterating gives ``batch[0]``, ``batch[1]``, ...
    :attr:`results` holds only the finished ones. :attr:`entries` has a :class:`BatchEntry` per
    item (status, job id, error), :attr:`failed` the failed ones; :meth:`to_dataframe` is a
    table of it all.

    A batch started with :func:`start_batch` is usable at once: :meth:`wait` blocks until every
    job has ended (``await batch`` in async code), :meth:`cancel` stops the rest. A batch runs
    once; make one from items with ``Batch(items)`` and run it with :meth:`run`, or use
    :func:`run_batch`.
    """

    def __init__(self, items: Iterable[BatchItem]) -> None:
        self.items: tuple[BatchItem, ...] = tuple(items)
        self.entries: tuple[BatchEntry, ...] = tuple(BatchEntry(item) for item in self.items)
        self.concurrency: int | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = False
        self._ran = False
        self._ended = threading.Event()
        self._ended_future: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread: threading.Thread | None = None

    # -- list-like -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> MusicResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[MusicResult]: ...

    def __getitem__(self, index: int | slice) -> MusicResult | list[MusicResult]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self.entries))[index]]
        entry = self.entries[index]
        if entry.result is not None:
            return entry.result
        if entry.status == FAILED and entry.error is not None:
            raise entry.error
        if entry.status == STOPPED:
            raise RuntimeError(f"{entry.label}: stopped, {entry.reason}")
        raise RuntimeError(f"{entry.label}: still {entry.status}; batch.wait() waits for the rest")

    def __iter__(self) -> Iterator[MusicResult]:
        for index in range(len(self.entries)):
            yield self[index]

    # -- what happened -------------------------------------------------------------------------

    @property
    def results(self) -> list[MusicResult]:
        """The results of the jobs done so far, in item order."""
        return [e.result for e in self.entries if e.result is not None]

    @property
    def failed(self) -> list[BatchEntry]:
        """The entries of the jobs that failed; ``entry.reason`` says why, ``entry.error`` is the error."""
        return [e for e in self.entries if e.status == FAILED]

    @property
    def stopped(self) -> list[BatchEntry]:
        """The entries stopped before they finished (their job ids, where they have one, are kept)."""
        return [e for e in self.entries if e.status == STOPPED]

    @property
    def job_ids(self) -> list[str]:
        """Every job id known so far, in item order."""
        return [e.job_id for e in self.entries if e.job_id is not None]

    @property
    def done(self) -> bool:
        """Whether the batch has ended: every entry done, failed or stopped."""
        return self._ended.is_set()

    @property
    def credits(self) -> int:
        """Credits spent by this run (the ledger's answers cost nothing)."""
        return sum(e.credits or 0 for e in self.entries)

    @property
    def elapsed(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.ended_at if self.ended_at is not None else time.monotonic()) - self.started_at

    def tally(self) -> dict[str, int]:
        """How many entries are in each status: ``{"waiting": ..., "running": ..., "done": ...,
        "failed": ..., "stopped": ...}``."""
        counts = dict.fromkeys((WAITING, RUNNING, DONE, FAILED, STOPPED), 0)
        for entry in self.entries:
            counts[entry.status] = counts.get(entry.status, 0) + 1
        return counts

    def stop_summary(self) -> str:
        """What a stopped batch left, job by job as it is: how many are saved, how many are still
        running on the server (their ids are in :attr:`job_ids` and in the job ledger), and how
        many were never submitted (and cost nothing)."""
        saved = sum(e.result is not None for e in self.entries)
        running = [e for e in self.stopped if e.job_id]
        unsent = sum(e.status == STOPPED and not e.job_id for e in self.entries)
        failed = len(self.failed)
        parts = [f"{saved} of {len(self)} saved"]
        if running:
            parts.append(f"{len(running)} still running on the server")
        if unsent:
            parts.append(f"{unsent} not submitted (nothing charged)")
        if failed:
            parts.append(f"{failed} failed")
        return ", ".join(parts)

    def failure_line(self) -> str | None:
        """One line naming the jobs that failed or stopped (``None`` when none did), for a cell
        to end with, so that "Run All" stops."""
        failed, stopped = self.failed, self.stopped
        if not failed and not stopped:
            return None
        parts = []
        if failed:
            named = "; ".join(f"{e.label} ({e.reason})" for e in failed)
            parts.append(f"{len(failed)} of {len(self)} jobs failed: {named}")
        if stopped:
            parts.append(f"{len(stopped)} stopped: " + ", ".join(e.label for e in stopped))
        return ". ".join(parts) + "."

    def rows(self) -> list[dict[str, Any]]:
        """One dict per item, with the keys of :data:`BATCH_COLUMNS`, in that order: ``path`` and
        ``duration`` are the first track's, ``credits`` what the job cost (0 from the ledger),
        ``error`` the reason it failed; ``loudness_lufs``, ``peak_dbfs``, ``clipped_samples``,
        ``tempo_bpm`` and ``key`` what was measured in the first track (``None`` until measured;
        tempo and key need the ``analysis`` extra); ``asked_bpm``, ``asked_key``,
        ``asked_metre``, ``asked_seconds`` and ``adherence`` whether it follows its prompt (see
        :attr:`MusicResult.adherence`)."""
        rows = []
        for entry in self.entries:
            result = entry.result
            measured = result.measurements.as_dict() if result is not None and result.measurements else {}
            rows.append({
                "label": entry.label,
                "prompt": entry.request.prompt,
                "take": entry.take,
                "model": entry.request.model,
                "params": dict(entry.request.params),
                "job_id": entry.job_id,
                "status": entry.status,
                "credits": entry.credits,
                "path": str(result.path) if result is not None else None,
                "duration": result.duration if result is not None else None,
                "error": entry.reason if entry.status in (FAILED, STOPPED) else None,
                **{name: measured.get(name) for name in MEASUREMENT_COLUMNS},
                **adherence_columns(entry.request, result.measurements if result is not None else None),
            })
        return rows

    def plot(self) -> Figure:
        """A matplotlib figure comparing what was measured in each finished job (loudness, peak,
        clipped samples, tempo and key), a bar per job labelled as in the grid and coloured by
        model. Needs the ``plot`` extra (matplotlib); shows itself in a notebook."""
        return plot_measurements(self.rows())

    def to_dataframe(self) -> pandas.DataFrame | list[dict[str, Any]]:
        """:meth:`rows` as a pandas DataFrame when pandas can be imported (the ``history``
        extra), else the list of dicts itself."""
        rows = self.rows()
        try:
            import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]
        except ImportError:
            return rows
        return pandas.DataFrame(rows, columns=list(BATCH_COLUMNS))

    def __getstate__(self) -> dict[str, Any]:
        """What a pickle (or ``%store``) keeps: the items and their entries as they are now;
        nothing that runs. A batch loaded from one has ended: entries not finished are
        ``"stopped"``, with their job ids."""
        return {"items": self.items, "entries": self.entries, "concurrency": self.concurrency}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["items"])  # type: ignore[misc]
        self.entries = state["entries"]
        self.concurrency = state["concurrency"]
        self._ran = True
        for entry in self.entries:
            if not entry.ended:
                entry.status = STOPPED
        self._ended.set()
        self._ended_future.set_result(None)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in self.tally().items() if n)
        return f"<Batch of {len(self)} jobs: {counts or 'none'}>"

    # -- running -------------------------------------------------------------------------------

    async def run(
        self,
        client: AsyncApiframeClient,
        context: RunContext | None = None,
        *,
        concurrency: int | None = None,
        observer_for: Callable[[BatchItem], JobObserver | None] | None = None,
        on_change: Callable[[BatchEntry], None] | None = None,
        **settings: Any,
    ) -> Batch:
        """Run every item on ``client``; see :func:`run_batch`. Returns this batch."""
        _check_concurrency(concurrency)
        if self._ran:
            raise RuntimeError("this batch has run already: a batch runs once")
        ctx = RunContext.of(context, **settings)
        await _admit(client, self.entries, ctx)
        self._ran = True
        self._loop = asyncio.get_running_loop()
        self.started_at = time.monotonic()

        changed = _notifier(on_change, ctx.say)
        try:
            self.concurrency = concurrency if concurrency is not None else await _account_limit(client)
            slots = asyncio.Semaphore(self.concurrency)
            gate = _Gate()
            self._tasks = [
                asyncio.ensure_future(self._run_entry(
                    entry, client, ctx, _EntryRun(slots, gate, changed,
                                                  observer_for(entry.item) if observer_for else None),
                ))
                for entry in self.entries
            ]
            if self._stop:
                self._cancel_tasks()
            # return_exceptions: a job cancelled by cancel() must not end the others' wait;
            # cancelling run() itself still cancels every job, and waits for them to clean up.
            await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            self._close(changed)
        return self

    def _close(self, changed: Callable[[BatchEntry], None], error: Exception | None = None) -> None:
        """End the batch: entries still open are ``"stopped"`` (or ``"failed"`` with ``error``);
        one whose audio is saved is ``"done"`` whatever stopped its measuring."""
        for entry in self.entries:
            if not entry.ended:
                entry.error = error if error is not None else entry.error
                status = DONE if entry.result is not None else FAILED if error is not None else STOPPED
                self._end(entry, status, changed)
        self.ended_at = time.monotonic()
        self._ended.set()
        if not self._ended_future.done():
            self._ended_future.set_result(None)

    async def _run_entry(self, entry: BatchEntry, client: AsyncApiframeClient, ctx: RunContext,
                         run: _EntryRun) -> None:
        try:
            async with _Slot(run.slots) as slot:
                entry.status, entry.started_at = RUNNING, time.monotonic()
                run.changed(entry)
                watcher = _EntryObserver(entry, run.observer, slot, run.changed)
                result = await _submit_retrying(client, entry, ctx, run.gate, watcher)
            entry.result, entry.job_id = result, result.job_id
            entry.measuring = ctx.measure and any(t.measurements is None for t in result.tracks)
            self._end(entry, DONE, run.changed)
            if entry.measuring:
                try:
                    await measure_off_loop(result, ctx.ledger, ctx.measure_with)
                finally:
                    entry.measuring = False
                    run.changed(entry)
        except asyncio.CancelledError:
            if not entry.ended:
                self._end(entry, DONE if entry.result is not None else STOPPED, run.changed)
            raise
        except Exception as exc:  # one job's failure, of any kind, is that job's alone
            if entry.result is not None:  # saved: measuring never fails a job
                ctx.say(f"could not measure {entry.label}: {type(exc).__name__}: {exc}")
                return
            entry.error = exc
            if isinstance(exc, ApiframeError) and exc.job_id is not None:
                entry.job_id = exc.job_id
            self._end(entry, FAILED, run.changed)

    @staticmethod
    def _end(entry: BatchEntry, status: str, changed: Callable[[BatchEntry], None]) -> None:
        entry.status, entry.ended_at = status, time.monotonic()
        changed(entry)

    # -- waiting and stopping ------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop every job not finished yet (from any thread). Jobs already submitted keep their
        ids (in :attr:`entries` and in the job ledger) and can be resumed; the batch then ends
        with those entries ``"stopped"``."""
        self._stop = True
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._cancel_tasks()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to stop
                loop.call_soon_threadsafe(self._cancel_tasks)

    def _cancel_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()

    def wait(self, timeout: float | None = None) -> Batch:
        """Block until every job has ended; returns this batch. Raises :class:`TimeoutError` when
        ``timeout`` seconds pass first (the jobs go on). Interrupted (the stop button, Ctrl-C), it
        stops the jobs as :meth:`cancel` does, keeping their ids, and lets the interrupt through.

        From async code use ``await batch`` instead: blocking the loop the batch runs on would
        never end."""
        if self.done:
            return self
        if self._loop is None:
            raise RuntimeError("this batch was never started: run it with run_batch or start_batch")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            raise RuntimeError("batch.wait() would block the loop this batch runs on: await batch")
        try:
            if not self._ended.wait(timeout):
                raise TimeoutError(f"the batch did not end within {timeout:g} s; its jobs go on")
        except KeyboardInterrupt:
            self.cancel()
            self._ended.wait(_STOP_GRACE)
            raise
        return self

    async def wait_async(self) -> Batch:
        """Wait, without blocking the loop, until every job has ended; returns this batch.
        Cancelling the wait leaves the jobs running (:meth:`cancel` stops them)."""
        if not self.done:
            await asyncio.shield(asyncio.wrap_future(self._ended_future))
        return self

    def __await__(self) -> Any:
        return self.wait_async().__await__()


def _notifier(
    on_change: Callable[[BatchEntry], None] | None, warn: Callable[[str], None] | None
) -> Callable[[BatchEntry], None]:
    """``on_change``, whose failures are told to ``warn`` rather than failing the job shown."""

    def changed(entry: BatchEntry) -> None:
        if on_change is None:
            return
        try:
            on_change(entry)
        except Exception as exc:
            if warn is not None:
                warn(f"on_change failed for {entry.label}: {type(exc).__name__}: {exc}")

    return changed


@dataclass(frozen=True)
class _EntryRun:
    """What every job of one run shares (its slots and its 429 gate, who hears of changes), and
    the observer of this one."""

    slots: asyncio.Semaphore
    gate: _Gate
    changed: Callable[[BatchEntry], None]
    observer: JobObserver | None


async def _submit_retrying(
    client: AsyncApiframeClient, entry: BatchEntry, ctx: RunContext, gate: _Gate, watcher: JobObserver
) -> MusicResult:
    """Generate one entry's job (measured later, by the batch), sending its submit again after
    a 429 (when told) or an outage: a retry reuses the ledger's Idempotency-Key, so a job the
    service did start is replayed, never paid twice. Without a ledger the key is not kept, so an
    outage is not retried here."""
    deadline = None if ctx.timeout is None or entry.started_at is None else entry.started_at + ctx.timeout
    unmeasured = RunContext.of(ctx, measure=False)
    failures = 0
    while True:
        await gate.pass_()
        try:
            return await generate(client, entry.item, unmeasured, observer=watcher)
        except RateLimitError as exc:
            # Refused before any job existed (the client has already waited out its own
            # retries): wait as told, then submit again; every other job waits as long.
            pause = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
            if exc.job_id is not None or (deadline is not None and time.monotonic() + pause > deadline):
                raise
            gate.hold(pause)
        except (ServerError, TransportError) as exc:
            pause = SUBMIT_BACKOFF.delay(failures)
            failures += 1
            if exc.job_id is not None or ctx.ledger is None or failures > SUBMIT_RETRIES or (
                deadline is not None and time.monotonic() + pause > deadline
            ):
                raise
            await asyncio.sleep(pause)


async def _admit(client: AsyncApiframeClient, entries: Sequence[BatchEntry], ctx: RunContext) -> None:
    """Refuse the whole batch, before anything is sent, if the jobs it would submit (those the
    ledger does not answer or resume) cost more than the budget has left."""
    if ctx.budget is None or ctx.budget.limit is None:
        return
    book = Bookkeeping(ctx.ledger, ctx.say)
    identity = ctx.account_of(client)
    to_send = [
        e.request for e in entries
        if decide(book, e.request, identity=identity, take=e.take).action == "submit"
    ]
    ctx.budget.check(to_send)


# How long an interrupted wait gives the jobs to record that they stopped.
_STOP_GRACE = 0.4


def _check_concurrency(concurrency: int | None) -> None:
    if concurrency is not None and (
        isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
    ):
        raise RequestValidationError("concurrency", concurrency, "must be a positive whole number")


async def _account_limit(client: AsyncApiframeClient) -> int:
    """The account's ``maxConcurrentJobs`` (``GET /v2/me``), or :data:`DEFAULT_CONCURRENCY`
    when the answer lacks it or the call fails."""
    try:
        account = await client.me()
    except ApiframeError:
        return DEFAULT_CONCURRENCY
    limit = account.max_concurrent_jobs
    return limit if limit is not None and limit >= 1 else DEFAULT_CONCURRENCY


@public
def run_batch(
    client: AsyncApiframeClient | ApiframeClient,
    items: Iterable[BatchItem],
    context: RunContext | None = None,
    *,
    concurrency: int | None = None,
    observer_for: Callable[[BatchItem], JobObserver | None] | None = None,
    on_change: Callable[[BatchEntry], None] | None = None,
    **settings: Any,
) -> Coroutine[Any, Any, Batch] | Batch:
    """Run every item through :func:`~apiframe_magic.generate` on ``client``, concurrently, and
    return the :class:`Batch` once every job has ended: awaited with an
    :class:`~apiframe_magic.AsyncApiframeClient` (``batch = await run_batch(client, items)``),
    blocking with an :class:`~apiframe_magic.ApiframeClient`.

    ``context`` (a :class:`~apiframe_magic.RunContext`), or its fields as keywords
    (``output_dir=``, ``ledger=``, ``budget=``, ``timeout=``, ``measure=``, ``warn=``), is shared
    by every job. With a ``budget``, a batch whose jobs (those the ledger does not answer) would
    cost more than is left is refused whole with :class:`~apiframe_magic.BudgetExceededError`
    before anything is sent, and each job still passes the budget on its own.

    At most ``concurrency`` jobs run at once (else the account's ``maxConcurrentJobs`` from
    ``GET /v2/me``, or :data:`DEFAULT_CONCURRENCY` when it says nothing or cannot be read); the
    rest wait locally. A job's slot is given back as soon as it is downloading. With a
    ``ledger`` every job goes through it as a single ``generate`` does: a job done before is
    answered at no cost, one submitted before is resumed, so re-running a batch pays only for
    the jobs not done. ``timeout`` bounds each job's wait (and how long a 429 storm may hold
    back its submit).

    A job that fails (``FAILED``, a timeout, a download error, any error) is recorded on its
    entry and the others go on: the batch never raises for one job. ``observer_for(item)``
    gives each job an observer (a card of a grid); ``on_change(entry)`` hears every status
    change; ``warn`` hears each problem once. An entry is ``"done"`` as soon as its audio is
    saved; with ``measure`` (the default) its tracks are then measured on an executor, with
    ``entry.measuring`` true, and ``on_change`` hears it again once the measurements are in. The
    batch ends when every job has ended and every saved track has been measured. Cancelling it
    (Ctrl-C) stops every job at once, each keeping its job id in the ledger; to keep the
    :class:`Batch` too, make it first: ``batch = Batch(items)``, then
    ``await batch.run(client, ...)``.
    """
    batch = Batch(items)
    if isinstance(client, ApiframeClient):
        return client.run(batch.run(
            client.aio, context, concurrency=concurrency, observer_for=observer_for,
            on_change=on_change, **settings,
        ))
    return batch.run(client, context, concurrency=concurrency, observer_for=observer_for,
                     on_change=on_change, **settings)


@public
def start_batch(
    connect: Callable[[], AsyncApiframeClient],
    items: Iterable[BatchItem],
    context: RunContext | None = None,
    *,
    concurrency: int | None = None,
    observer_for: Callable[[BatchItem], JobObserver | None] | None = None,
    on_change: Callable[[BatchEntry], None] | None = None,
    **settings: Any,
) -> Batch:
    """Start :func:`run_batch` in the background and return its :class:`Batch` at once
    (``%%music --no-wait``): the jobs run on a thread of their own, with their own event loop,
    so they go on while other code (other notebook cells) runs.

    ``connect()`` makes the client, on that thread (``Backend.client`` or
    ``AsyncApiframeClient.sandbox``); it is closed when the batch ends. ``observer_for``,
    ``on_change`` and ``warn`` are called on that thread. The budget is checked for the whole
    batch here, before this returns. ``batch.wait()`` blocks until the end, ``await batch``
    waits without blocking, ``batch.cancel()`` stops the jobs.
    """
    _check_concurrency(concurrency)
    ctx = RunContext.of(context, **settings)
    batch = Batch(items)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    admitted: list[BaseException] = []

    async def main() -> None:
        batch._loop = loop
        try:
            client = connect()
        except Exception as exc:  # e.g. no API key: every job fails with it
            started.set()
            batch._close(_notifier(on_change, ctx.say), exc)
            return
        async with client:
            try:
                await _admit(client, batch.entries, ctx)
            except BaseException as exc:
                admitted.append(exc)
                raise
            finally:
                started.set()
            try:
                await batch.run(
                    client, ctx, concurrency=concurrency, observer_for=observer_for, on_change=on_change,
                )
            finally:
                if not batch.done:  # run() never started (cancelled at once): end it all the same
                    batch._close(_notifier(on_change, ctx.say))

    def thread() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        except BaseException:  # the batch has recorded it; nothing to raise to
            pass
        finally:
            with contextlib.suppress(BaseException):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    batch._thread = threading.Thread(target=thread, name="apiframe-batch", daemon=True)
    batch._thread.start()
    started.wait()
    if admitted:
        raise admitted[0]
    return batch
