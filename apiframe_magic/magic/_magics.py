"""The ``%config``-able :class:`MusicMagics`: it parses a cell into plain data, dispatches on it,
and delegates the job to :mod:`apiframe_magic.jobs` and what is shown to :mod:`apiframe_magic.display`.

Settings are traits (``%config MusicMagics``), checked when set; the API key is never one.
Failures end the cell with one line and no traceback (see :mod:`._messages`).
"""

from __future__ import annotations

import json
import math
import sys
import weakref
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display
from traitlets import Bool, Enum, Float, Int, TraitError, Unicode, validate

from .._exceptions import (
    ApiframeError,
    ConfigurationError,
    JobTimeoutError,
)
from .._fs import DEFAULT_OUTPUT_DIR
from .._version import __version__
from ..catalog import DEFAULT_MODEL, MODELS, OUTPUT_FORMATS
from ..display import (
    NEEDS_NOTEBOOK,
    BatchGrid,
    ListenView,
    batch_price,
    dry_run_bundle,
    history_bundle,
    in_kernel,
    listen_reveal_html,
    make_progress_view,
    measurements_bundle,
    models_bundle,
    register_formatters,
    sandbox_notice,
)
from ._busy import staying_busy
from ._messages import MusicError, MusicInterrupted, explain, interrupted_message, manual
from ._options import (
    ActionCommand,
    BatchCommand,
    ListenCommand,
    MusicCommand,
    MusicDefaults,
    MusicLineCommand,
    action_line,
    action_request,
    batch_items,
    check_length,
    check_model,
    music_cell_arguments,
    music_line_arguments,
    parse_music_cell,
    parse_music_line,
    takes_cell_options,
)

# The job machinery (httpx, the sandbox, the ledger, numpy) is imported by the methods that use
# it, so %load_ext stays light (tests/magic/test_light_load.py).
if TYPE_CHECKING:
    from ..client import AnyRequest, AsyncApiframeClient, ModelInfo
    from ..display import ProgressView
    from ..jobs import Batch, BatchItem, Budget, MusicResult, RunContext, Service
    from ..ledger import Ledger

T = TypeVar("T")

_LEDGER_OFF = "{what} needs the job ledger, which is off (%config MusicMagics.ledger)."

__all__ = ["MusicMagics"]

# Shells (kernels) already told that they run on the offline sandbox: the notice is shown once
# per shell, not per cell, and a reload of the extension does not repeat it.
_SANDBOX_ANNOUNCED: weakref.WeakSet[Any] = weakref.WeakSet()






@magics_class
class MusicMagics(Magics):
    """Generate music with Apiframe from a notebook cell: ``%%music`` (see ``%%music?``)."""

    output_dir = Unicode(
        DEFAULT_OUTPUT_DIR, help="Folder where audio files and their JSON metadata are saved."
    ).tag(config=True)
    default_length = Unicode(
        "", help="Length used when a cell gives no --length (e.g. 30s); empty lets the model pick."
    ).tag(config=True)
    default_format = Unicode(
        "", help="Output format used when a cell gives no --format; empty means mp3_high_quality."
    ).tag(config=True)
    default_model = Unicode(DEFAULT_MODEL, help="Model used when a cell gives no --model.").tag(
        config=True
    )
    timeout = Float(600.0, help="Seconds to wait for a job before giving up (it can be resumed).").tag(
        config=True
    )
    embed_limit_mb = Float(
        10.0, help="Audio files up to this size (MB) are embedded in the notebook; larger ones are linked. "
                   "0 links every file."
    ).tag(config=True)
    progress = Enum(
        ["auto", "widget", "text"], "auto",
        help="Progress display: a widget in kernels (auto), always a widget, or lines of text.",
    ).tag(config=True)
    show_traceback = Bool(
        False, help="Show full tracebacks for API and job errors instead of one line."
    ).tag(config=True)
    ledger = Unicode(
        "", help="The job ledger file. Empty: $APIFRAME_LEDGER, else .apiframe-ledger.sqlite3 in "
                 "output_dir. 'off' turns it off (every cell then submits and pays)."
    ).tag(config=True)
    budget_credits = Int(
        0, help="Refuse, before sending, a job that would take the credits spent in this kernel past "
                "this many. 0: no budget."
    ).tag(config=True)
    measure = Bool(
        True, help="Measure every track once its player is shown (loudness, peak, clipping; tempo and "
                   "key with the analysis extra) and show the measurements with a small waveform and "
                   "spectrogram. False skips measurements and pictures."
    ).tag(config=True)

    # Settings are checked when set, against the whole rule a cell would apply, so a bad value
    # is refused by %config (naming the setting) instead of failing every later cell.
    @validate("default_length")
    def _check_length(self, proposal: dict[str, Any]) -> str:
        value: str = proposal["value"]
        if value:
            try:
                check_length(value, self.default_model)
            except ValueError as e:
                raise _setting_error(proposal, str(e)) from None
        return value

    @validate("default_format")
    def _check_format(self, proposal: dict[str, Any]) -> str:
        value: str = proposal["value"]
        if value and value not in OUTPUT_FORMATS:
            raise _setting_error(proposal, f"must be one of {', '.join(OUTPUT_FORMATS)}, or empty")
        return value

    @validate("default_model")
    def _check_model(self, proposal: dict[str, Any]) -> str:
        value: str = proposal["value"]
        try:
            check_model(value)
        except ValueError as e:
            raise _setting_error(proposal, str(e)) from None
        return value

    @validate("timeout")
    def _check_timeout(self, proposal: dict[str, Any]) -> float:
        value: float = proposal["value"]
        if not value > 0:
            raise _setting_error(proposal, "must be a positive number of seconds")
        return value

    @validate("budget_credits")
    def _check_budget(self, proposal: dict[str, Any]) -> int:
        value: int = proposal["value"]
        if value < 0:
            raise _setting_error(proposal, "must be 0 (no budget) or a positive number of credits")
        return value

    @validate("embed_limit_mb")
    def _check_embed_limit(self, proposal: dict[str, Any]) -> float:
        value: float = proposal["value"]
        if not (value >= 0 and math.isfinite(value)):
            raise _setting_error(proposal, "must be 0 (always link, never embed) or a positive number of MB")
        return value

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._started = datetime.now(timezone.utc)
        self._kernel_budget: Budget | None = None
        self._ledger: Ledger | None = None
        self._ledger_path: Path | None = None
        self._ledger_warned: set[str] = set()
        if shell is not None:
            register_formatters(shell, lambda: self.embed_limit_bytes)

    @property
    def user_ns(self) -> dict[str, Any]:
        """The namespace ``--out`` variables go to."""
        assert self.shell is not None, "MusicMagics is used through a shell"
        namespace: dict[str, Any] = self.shell.user_ns
        return namespace

    @property
    def embed_limit_bytes(self) -> int:
        return int(self.embed_limit_mb * 1_000_000)

    def defaults(self) -> MusicDefaults:
        return MusicDefaults(
            length=self.default_length or None,
            format=self.default_format or None,
            model=self.default_model,
            timeout=self.timeout,
        )

    @cell_magic("music")
    @music_cell_arguments
    def music(self, line: str, cell: str | None = None) -> None:
        """Generate a track from the prompt in the cell body.

        Example::

            %%music --length 30s --instrumental --out track
            an upbeat synthwave track with a driving bassline

        With no APIFRAME_API_KEY set, runs against the embedded offline sandbox.
        """

        command = parse_music_cell(line, cell or "", self.defaults())
        if isinstance(command, BatchCommand):
            with staying_busy(getattr(self.shell, "kernel", None)):
                self._batch(command)
            return
        if isinstance(command, ActionCommand):
            self._action(command)
            return
        self._one(command)

    def _one(self, command: MusicCommand) -> None:
        """One job (a generation or an action), followed, shown and stored in ``--out``."""
        from ..jobs import generate

        if command.dry_run:
            self._dry_run(command)
            return
        service = self._service()
        self._announce(service)
        if command.no_wait:
            self._submit_only(service, command)
            return
        context = self._context(service, timeout=command.timeout)
        view = make_progress_view(self.progress, command.request.prompt, self.embed_limit_bytes)
        with staying_busy(getattr(self.shell, "kernel", None)):
            result = self._follow(service, view, command.out, command.request, lambda client: generate(
                client, command.request, context, save=command.save, take=command.take,
                fresh=command.fresh, observer=view, measure=False,
            ))
            self._measure_and_show(result, context)
        if command.out:
            self.user_ns[command.out] = result

    @line_magic("music")
    @music_line_arguments
    def music_line(self, line: str) -> None:
        """Look after music jobs: ``%music status``, ``%music resume JOB_ID``, ``%music help``.

        A line that starts with an option is a ``%%music`` with no body, for the runs that need
        none: ``%music --prompts VAR --out b`` (IPython refuses a cell magic with an empty body)."""
        if takes_cell_options(line):
            self.music(line, "")
            return
        cell_line = action_line(line)
        if cell_line is not None:  # %music extend VAR ...: a %%music --extend VAR cell, no body
            self.music(cell_line, "")
            return
        command = parse_music_line(line)
        if command.action == "help":
            print(manual(self.class_traits(config=True)))
        elif command.action == "status":
            self._status()
        elif command.action == "models":
            self._models()
        elif command.action == "pending":
            self._pending()
        elif command.action == "history":
            self._history(command)
        elif command.listen is not None:
            self._listen(command.listen)
        elif command.job_id is None:
            self._resume_pending(command)
        else:
            result = self._resume(command.job_id, command.save, command.timeout, command.out)
            if command.out:
                self.user_ns[command.out] = result

    def _batch(self, command: BatchCommand | ActionCommand, items: list[BatchItem] | None = None) -> None:
        """Many jobs from one cell: concurrent, in a live grid, through the ledger (``items``: the
        jobs already made, as an action on each result of a batch)."""
        import asyncio

        from ..jobs import Batch, folded_note, start_batch

        if items is None:
            assert isinstance(command, BatchCommand)
            prompts: Any = command.prompts
            if prompts is None:
                name = command.prompts_var or ""
                if name not in self.user_ns:
                    raise UsageError(f"--prompts {name}: no such variable in this notebook.")
                prompts = self.user_ns[name]
            items = batch_items(command, prompts)
        note = folded_note(items)
        if note:
            print(note)
        if command.dry_run:
            bodies = "\n".join(f"{i.label}: {json.dumps(i.request.to_json(), ensure_ascii=False)}"
                               for i in items)
            print(f"Dry run: nothing submitted. {len(items)} jobs would cost {batch_price(items)}.\n"
                  f"{bodies}")
            return
        service = self._service()
        self._announce(service)
        context = self._context(service, output_dir=command.save, timeout=command.timeout)
        live = self.progress == "widget" or (self.progress == "auto" and in_kernel())
        grid = BatchGrid(items, live=live, embed_limit_bytes=self.embed_limit_bytes,
                         typical_seconds=_typical_seconds(context.ledger, items, service.account))
        if command.no_wait:
            try:
                batch = start_batch(
                    service.client, items, context, concurrency=command.concurrency,
                    observer_for=grid.observer_for, on_change=grid.on_change,
                )
            except ApiframeError as e:  # the budget refused the batch whole: nothing was sent
                grid.finish()
                raise MusicError(explain(e, None, service)) from None
            if command.out:
                self.user_ns[command.out] = batch
            where = f"{command.out}.wait()" if command.out else "%music resume"
            print(f"Started {len(items)} jobs (not waiting); the grid fills in as they finish. "
                  f"Wait for them with {where}.")
            return

        batch = Batch(items)
        if command.out:
            # Bound before it runs, so a stopped cell still leaves every job id in VAR.
            self.user_ns[command.out] = batch

        async def run(client: AsyncApiframeClient) -> Batch:
            ticker = asyncio.ensure_future(grid.tick())
            try:
                return await batch.run(
                    client, context, concurrency=command.concurrency,
                    observer_for=grid.observer_for, on_change=grid.on_change,
                )
            finally:
                ticker.cancel()

        try:
            service.call(run)
        except KeyboardInterrupt:
            grid.finish(batch.stop_summary())
            running = sum(1 for e in batch.stopped if e.job_id)
            kept = f" ({command.out}.job_ids lists them)" if command.out else ""
            collect = (f"; collect the {running} still running{kept} by running this cell again, or "
                       "with %music resume (nothing is paid twice)" if running else "")
            line = f"stopped: {batch.stop_summary()}{collect}"
            if self.show_traceback:
                print(f"Interrupted: {line}")
                raise
            raise MusicInterrupted(line) from None
        except ApiframeError as e:  # the budget refused the batch whole: nothing was sent
            grid.finish()
            if self.show_traceback:
                raise
            raise MusicError(explain(e, None, service)) from None
        grid.finish()
        problem = batch.failure_line()
        if problem:
            raise MusicError(problem)

    def _action(self, command: ActionCommand) -> None:
        """``%%music --extend VAR`` (``--cover``, ``--add-vocals``, ``--stems``): the action on
        track ``--track`` of VAR's result, or of each result of VAR's batch as a batch; each
        checked against the parent held here before anything is sent."""
        from ..jobs import BatchItem

        parents, several = self._parents(command)
        requests = []
        for label, parent in parents:
            job_id = parent if isinstance(parent, str) else parent.job_id
            request = action_request(command, job_id)
            if not isinstance(parent, str):
                self._check_parent(command, request, parent)
            requests.append((label, request))
        if not several:
            (_, request), = requests
            self._one(MusicCommand(
                request=request, out=command.out, save=command.save, timeout=command.timeout,
                no_wait=command.no_wait, dry_run=command.dry_run, take=command.take, fresh=command.fresh,
            ))
            return
        items = [BatchItem(label, request, take=command.take) for label, request in requests]
        with staying_busy(getattr(self.shell, "kernel", None)):
            self._batch(command, items)

    def _parents(self, command: ActionCommand) -> tuple[list[tuple[str, Any]], bool]:
        """What VAR holds, as the parents to act on: ``(label, result or job id)`` each, and
        whether they make a batch. One ``UsageError`` line for anything else."""
        from ..jobs import Batch, MusicJob, MusicResult

        where = f"{command.option} {command.var}"
        value: Any
        if command.var in self.user_ns:
            value = self.user_ns[command.var]
        elif _looks_like_job_id(command.var):
            value = command.var
        else:
            try:
                value = eval(command.var, self.user_ns)  # the user's own expression (takes[2])
            except Exception:
                raise UsageError(f"{where}: no such variable in this notebook (give a result, a batch, "
                                 "or a job id).") from None
        if isinstance(value, MusicJob):
            raise UsageError(f"{where}: job {value.job_id} is not collected yet; collect it first "
                             f"({command.var}.result() or %music resume {value.job_id}).")
        if isinstance(value, MusicResult):
            return [(value.job_id[:8], value)], False
        if isinstance(value, str) and _looks_like_job_id(value):
            return [(value[:8], value)], False
        if isinstance(value, Batch):
            entries = [(e.label, e.result) for e in value.entries if e.result is not None]
            if not entries:
                raise UsageError(f"{where}: the batch has no finished result to work on.")
            return entries, True
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, MusicResult) for v in value):
            return [(f"{n}. {v.job_id[:8]}", v) for n, v in enumerate(value, 1)], True
        raise UsageError(f"{where}: a {type(value).__name__}; give a result (%%music --out VAR), a batch "
                         "or a job id.")

    @staticmethod
    def _check_parent(command: ActionCommand, request: Any, parent: MusicResult) -> None:
        """Refuse here what the service would refuse for ``parent`` (a 409 or a 400): one line."""
        from ..jobs import parent_job_of

        try:
            request.check_parent(parent_job_of(parent))
        except ApiframeError as e:
            field = getattr(e, "field", "")
            what = {"continueAt": "--at", "continue_at": "--at", "index": "--track"}.get(field)
            why = getattr(e, "allowed", str(e))
            if what is None:
                raise UsageError(f"{command.option} {command.var}: {why}.") from None
            raise UsageError(f"{what}: {why} (track {command.track} of {command.var}).") from None

    def _resume(
        self, job_id: str, save: str | None, timeout: float | None, out: str | None,
        output_dir: str | None = None,
    ) -> MusicResult:
        """Wait for one job and save it: where ``save``/``output_dir`` say, else where the ledger
        says its cell would have saved it, else the output folder."""
        from ..jobs import resume

        service = self._service()
        self._announce(service)
        context = self._context(service, timeout=timeout)
        ledger = context.ledger
        known = ledger is not None and save is None and output_dir is None and _knows(ledger, job_id)
        view = make_progress_view(self.progress, None, self.embed_limit_bytes)
        result = self._follow(service, view, out, None, lambda client: resume(
            client, job_id, context, save=save, observer=view, measure=False,
            output_dir=None if known else (output_dir or self.output_dir),
        ))
        self._measure_and_show(result, context)
        return result

    def _measure_and_show(self, result: MusicResult, context: RunContext) -> None:
        """Once the player is shown: measure the tracks that need it (as every path does, with
        :func:`~apiframe_magic.jobs.measure_result`), and show the measurements and pictures under
        the card (the player is left alone, so one already playing goes on). Never fails the
        cell: a problem is one warning."""
        from ..jobs import measure_result

        if not context.measure:
            return
        before = [t.measurements for t in result.tracks]
        try:
            measure_result(result, ledger=context.ledger)
        except Exception as e:  # measuring is a bonus; the track is saved whatever happens here
            context.say(f"could not measure {result.path}: {type(e).__name__}: {e}")
            return
        if [t.measurements for t in result.tracks] != before:
            display(measurements_bundle(result), raw=True)

    def _resume_pending(self, command: MusicLineCommand) -> None:
        """``%music resume`` with no id: every job the ledger has submitted and not saved, each
        saved where its cell would have saved it. One that fails is reported and the rest go on."""
        ledger = self._open_ledger()
        if ledger is None:
            raise UsageError("%music resume with no job id needs the job ledger, which is off "
                             "(%config MusicMagics.ledger); give a JOB_ID.")
        account = self._service().account
        # Only this service's and account's jobs: another's would answer 404 here.
        records = self._call_ledger(ledger, lambda: ledger.pending(account=account)) or []
        if not records:
            print("No pending jobs for this service and account: every one in the ledger is saved "
                  "or ended.")
            return
        failures = 0
        for record in records:
            assert record.job_id is not None
            try:
                self._resume(record.job_id, None, command.timeout, None)
            except MusicError:  # said in its own line; a job the service does not know is marked ended
                failures += 1
        if failures:
            raise MusicError(f"{failures} of {len(records)} pending jobs could not be collected (see above).")

    def _pending(self) -> None:
        from ..ledger import history_rows

        ledger = self._open_ledger()
        if ledger is None:
            raise UsageError(_LEDGER_OFF.format(what="%music pending"))
        account = self._service().account
        records = self._call_ledger(ledger, lambda: ledger.pending(account=account)) or []
        others = (self._call_ledger(ledger, lambda: len(ledger.pending())) or 0) - len(records)
        title = "Pending jobs (%music resume collects them)"
        display(history_bundle(history_rows(records), title=title), raw=True)
        if others:
            print(f"{others} more pending job(s) belong to another service or account "
                  f"(another APIFRAME_API_KEY / APIFRAME_BASE_URL, or the offline sandbox).")

    def _history(self, command: MusicLineCommand) -> None:
        from ..ledger import history_rows, lineage_tree

        ledger = self._open_ledger()
        if ledger is None:
            raise UsageError(_LEDGER_OFF.format(what="%music history"))
        if command.tree:
            rows = self._call_ledger(ledger, lambda: ledger.history_rows(
                limit=command.limit, model=command.model, text=command.text)) or []
            print(lineage_tree(rows))
            return
        records = self._call_ledger(ledger, lambda: ledger.history(
            limit=command.limit, model=command.model, text=command.text,
        )) or []
        unseen = None
        if command.reconcile:
            service = self._service()
            known = {r.job_id for r in self._call_ledger(ledger, lambda: ledger.history(limit=None)) or []}
            try:
                page = service.call(lambda client: client.list_jobs(limit=100))
            except ApiframeError as e:
                raise MusicError(explain(e, None, service)) from e
            unseen = [job for job in page.jobs if job.id not in known]
            purged = {job.id for job in page.jobs if job.expired}
        rows = history_rows(records)
        if unseen is not None:
            for row in rows:  # the service no longer has these jobs' files: say so in the table
                if row["job_id"] in purged:
                    row["status"] = f"{row['status']} (purged on the service)"
        display(history_bundle(rows, unseen), raw=True)

    # The last listening test's widgets (for a test to drive; closed once revealed).
    listen_view: ListenView | None = None

    def _listen(self, command: ListenCommand) -> None:
        """``%music listen VAR``: a blind listening test of VAR's tracks, judged in widgets (or,
        with ``--kit``, written as an HTML file for listeners elsewhere), its judgements recorded
        in the kernel's ledger; ``%music listen --collect FILES`` records a kit's answers. The
        test's definition is kept in OUTPUT_DIR/listening/<test id>.json for collecting."""
        from ..jobs import Batch, MusicResult
        from ..listening import ListeningTest, write_kit

        if command.collect:
            self._collect(command)
            return

        def variable(name: str, what: str) -> Any:
            if name not in self.user_ns:
                raise UsageError(f"{what} {name}: no such variable in this notebook.")
            value = self.user_ns[name]
            if not (isinstance(value, (Batch, MusicResult)) or (
                    isinstance(value, (list, tuple)) and all(isinstance(r, MusicResult) for r in value))):
                raise UsageError(f"{what} {name}: a {type(value).__name__}, not a batch "
                                 f"(%%music --each-line --out VAR), a result or a list of results.")
            return value

        assert command.var is not None  # the options give a VAR unless collecting
        source = variable(command.var, "%music listen")
        reference = variable(command.reference, "--reference") if command.reference else None
        live = self.progress == "widget" or (self.progress == "auto" and in_kernel())
        if not live and command.kit is None:
            print(NEEDS_NOTEBOOK)
            return
        try:
            test = ListeningTest(source, pairs=command.pairs, seed=command.seed, ledger=self._open_ledger(),
                                 reference=reference, anchor=command.anchor, repeat=command.repeat)
        except ValueError as e:
            raise UsageError(f"%music listen {command.var}: {e}.") from None
        test.save(self._listening_dir() / f"{test.id}.json")
        if command.kit is not None:
            kit = write_kit(test, Path(command.kit), min_play=command.min_play)
            size = kit.stat().st_size / 1e6
            print(f"Listening kit {test.id}: {kit} ({size:.1f} MB, {len(test.clips)} clips). "
                  f"Give it to the listeners; collect the answers they hand back with "
                  f"%music listen --collect FILES.")
        else:
            csv_path = Path(command.csv) if command.csv else Path(self.output_dir) / f"{test.id}.csv"
            try:
                self.listen_view = ListenView(
                    test, listener=command.listener, min_play=command.min_play, csv_path=csv_path,
                    embed_limit_bytes=self.embed_limit_bytes, warn=self._warn,
                    match_loudness=command.match_loudness,
                )
            except ImportError:  # no ipywidgets in this kernel
                print(NEEDS_NOTEBOOK)
                return
        if command.out:
            self.user_ns[command.out] = test

    def _listening_dir(self) -> Path:
        return Path(self.output_dir) / "listening"

    def _collect(self, command: ListenCommand) -> None:
        """``%music listen --collect FILES``: the answers of a kit recorded, then the reveal."""
        import glob

        from ..listening import ListeningTest, read_answers

        paths: list[str] = []
        for given in command.collect:
            matched = sorted(glob.glob(given)) if glob.has_magic(given) else [given]
            if not matched:
                raise UsageError(f"--collect {given}: no file matches.")
            paths += matched
        try:
            tests = {read_answers(path).test for path in paths}
        except ValueError as e:
            raise UsageError(f"--collect: {e}.") from None
        if len(tests) > 1:
            raise UsageError(f"--collect: the files answer {len(tests)} tests ({', '.join(sorted(tests))}); "
                             f"collect one test at a time.")
        (test_id,) = tests
        definition = self._listening_dir() / f"{test_id}.json"
        if not definition.exists():
            raise UsageError(f"--collect: test {test_id} was not made here (no {definition}); run it "
                             f"where the kit was written, with the same output folder.")
        try:
            test = ListeningTest.load(definition, ledger=self._open_ledger())
            new = test.collect(paths)
        except ValueError as e:
            raise UsageError(f"--collect: {e}.") from None
        reveal = test.reveal()
        csv_path = test.to_csv(Path(command.csv) if command.csv else Path(self.output_dir) / f"{test.id}.csv")
        skipped = len(paths) - len(new)
        print(f"Collected {len(new)} listener{'s' if len(new) != 1 else ''} into test {test.id}"
              + (f" ({skipped} file{'s' if skipped != 1 else ''} already collected)" if skipped else "")
              + f"; {test.listeners} in all.")
        display({"text/plain": f"{reveal}\n\nJudgements written to {csv_path}",
                 "text/html": listen_reveal_html(reveal, csv_path, embed_limit_bytes=self.embed_limit_bytes)},
                raw=True)
        if command.out:
            self.user_ns[command.out] = test

    # -- the ledger and the budget ---------------------------------------------------------

    def _warn(self, message: str) -> None:
        print(f"apiframe-magic: {message}", file=sys.stderr)

    def _open_ledger(self) -> Ledger | None:
        """The ledger of the current settings, opened once and kept; ``None`` when it is off or
        unusable (said once per file: cells then run without the cache)."""
        from ..jobs import open_ledger
        from ..ledger import resolve_ledger_path

        path = resolve_ledger_path(self.ledger or None, self.output_dir)
        if path != self._ledger_path or self._ledger is None or self._ledger.closed:
            if self._ledger is not None:
                self._ledger.close()
            self._ledger, self._ledger_path = None, path
            if path is not None and str(path) not in self._ledger_warned:
                # A corrupt file is moved aside and what it held recovered into a new one.
                self._ledger = open_ledger(self.ledger or None, self.output_dir, warn=self._warn)
                if self._ledger is None:
                    self._ledger_warned.add(str(path))
        return self._ledger

    def _call_ledger(self, ledger: Ledger, read: Callable[[], T]) -> T | None:
        from ..ledger import LedgerUnavailable

        try:
            return read()
        except LedgerUnavailable as e:
            self._warn(f"the job ledger is off for this kernel: {e}")
            self._ledger = None
            return None

    def _budget(self) -> Budget:
        """This kernel's budget: one for the kernel's life, so that every cell, batch and
        ``--no-wait`` job counts against the same credits; its limit follows the setting."""
        from ..jobs import Budget

        if self._kernel_budget is None:
            self._kernel_budget = Budget(None, where="in this kernel", setting="MusicMagics.budget_credits")
        self._kernel_budget.limit = self.budget_credits or None
        return self._kernel_budget

    def _context(
        self, service: Service, *, output_dir: str | None = None, timeout: float | None = None
    ) -> RunContext:
        """The settings of one cell's run, built once: every job of the cell goes through the same
        ledger and budget, and each problem is told once per cell."""
        from ..jobs import RunContext

        return RunContext(
            service=service.name, account=service.account, output_dir=output_dir or self.output_dir,
            ledger=self._open_ledger(), budget=self._budget(), timeout=timeout or self.timeout,
            measure=self.measure, warn=self._warn,
        )

    def _spent_today(self) -> int | None:
        """Credits spent today on this service and account, as the ledger counts them (other
        kernels and runs included); ``None`` without a ledger."""
        midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        ledger = self._open_ledger()
        if ledger is None:
            return None
        account = self._service().account
        return self._call_ledger(ledger, lambda: ledger.spent(account=account, since=midnight))

    def _models(self) -> None:
        """List every model: this package's specs, merged with ``GET /v2/models`` when it answers."""
        service = self._service()
        try:
            listed = service.call(lambda client: client.models())
            served: dict[str, ModelInfo] | None = {m.id: m for m in listed}
        except ApiframeError:
            served = None
        display(models_bundle(list(MODELS.values()), served), raw=True)

    def _announce(self, service: Service) -> None:
        """Show the sandbox notice the first time this shell uses the sandbox."""
        if service.sandbox and self.shell not in _SANDBOX_ANNOUNCED:
            _SANDBOX_ANNOUNCED.add(self.shell)
            sandbox_notice(service)

    def _service(self) -> Service:
        from ..jobs import resolve_service, rest_between_measurements

        # Every job path starts here: measuring then keeps this shell responsive (set here, not at
        # %load_ext, which imports none of the jobs layer).
        rest_between_measurements(True)
        try:
            return resolve_service(self.ledger or None, self.output_dir, warn=self._warn)
        except ConfigurationError as e:
            raise UsageError(str(e)) from None

    def _follow(
        self,
        service: Service,
        view: ProgressView,
        out: str | None,
        request: AnyRequest | None,
        start: Callable[[AsyncApiframeClient], Awaitable[MusicResult]],
    ) -> MusicResult:
        """Run one job under ``view``. The job id survives every way this can end: on failure or
        interrupt after submission, ``out`` (if given) holds a :class:`MusicJob` to resume."""
        import asyncio

        from ..jobs import MusicJob


        async def run(client: AsyncApiframeClient) -> MusicResult:
            ticker = asyncio.ensure_future(view.tick())
            try:
                return await start(client)
            finally:
                ticker.cancel()

        def keep_handle() -> None:
            if out and view.job_id:
                ledger = self._ledger
                self.user_ns[out] = MusicJob(
                    view.job_id, request, service, output_dir=self.output_dir,
                    ledger_path=str(ledger.path) if ledger is not None else None,
                )

        try:
            result = service.call(run)
        except KeyboardInterrupt:
            keep_handle()
            view.failed(interrupted_message(view.job_id), interrupted=True)
            if view.job_id:
                line = (f"job {view.job_id} keeps running on the server. Collect it with: "
                        f"%music resume {view.job_id}" + (f" --out {out}" if out else ""))
            else:
                line = interrupted_message(None)
            if self.show_traceback:
                print(f"Interrupted: {line}")
                raise
            # One line, not the traceback through the event loop (and asyncio's CancelledError).
            raise MusicInterrupted(line) from None
        except ApiframeError as e:
            keep_handle()
            message = explain(e, view.job_id, service)
            # A timeout ends the wait, not the job: the view must not call it failed.
            view.failed(message, title="still running" if isinstance(e, JobTimeoutError) else None)
            if self.show_traceback:
                raise
            raise MusicError(message) from e
        view.succeeded(result)
        return result

    def _dry_run(self, command: MusicCommand) -> None:
        from ..jobs import uses_sandbox

        label = "the offline sandbox" if uses_sandbox() else "the Apiframe API"
        display(dry_run_bundle(command.request, label), raw=True)
        if command.out:
            self.user_ns[command.out] = command.request

    def _submit_only(self, service: Service, command: MusicCommand) -> None:
        from ..jobs import MusicJob, MusicResult, submit

        context = self._context(service)
        ledger = context.ledger
        try:
            answer = service.call(lambda client: submit(
                client, command.request, context, save=command.save, take=command.take,
                fresh=command.fresh,
            ))
        except ApiframeError as e:
            message = explain(e, None, service)
            if self.show_traceback:
                raise
            raise MusicError(message) from e
        if isinstance(answer, MusicResult):
            display(answer)
            if command.out:
                self.user_ns[command.out] = answer
            return
        job_id = answer
        job = MusicJob(job_id, command.request, service, output_dir=self.output_dir, save=command.save,
                       ledger_path=str(ledger.path) if ledger is not None else None)
        if command.out:
            self.user_ns[command.out] = job
        where = f"{command.out}.result()" if command.out else f"%music resume {job_id}"
        print(f"Submitted job {job_id} (not waiting). Collect it with {where}")

    def _status(self) -> None:
        service = self._service()

        lines = [
            f"apiframe-magic {__version__}", f"service: {service.label}", f"key: {service.masked_key}"
        ]
        try:
            account = service.call(lambda client: client.me())
            lines.append(f"credits: {account.credits if account.credits is not None else '?'}")
            if account.plan:
                lines.append(f"plan: {account.plan}")
        except ApiframeError as e:
            lines.append(f"credits: unavailable ({explain(e, None, service)})")
        budget = f" of a budget of {self.budget_credits}" if self.budget_credits else ""
        today = self._spent_today()
        lines.append(f"spent in this kernel: {self._budget().spent} credits{budget}"
                     + (f"; today: {today}" if today is not None else ""))
        ledger = self._open_ledger()
        lines.append(f"job ledger: {ledger.path if ledger is not None else 'off'}")
        if service.sandbox:
            from ..sandbox import CREDITS_ENV

            lines.append(
                f"sandbox credits: set {CREDITS_ENV} before the first cell of a kernel, or "
                f"POST {{\"credits\": N}} to {service.base_url}/_sandbox/credits (see docs/sandbox.md)"
            )
            lines.append("This is the offline sandbox. Set APIFRAME_API_KEY to use the real service.")
        print("\n".join(lines))


def _looks_like_job_id(text: str) -> bool:
    """Whether ``text`` is written as a job id (a UUID), so an action can take it as VAR."""
    import uuid

    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


def _knows(ledger: Ledger, job_id: str) -> bool:
    """Whether the ledger has this job (then a resume saves it where its cell would have)."""
    from ..ledger import LedgerUnavailable

    try:
        return ledger.get(job_id) is not None
    except LedgerUnavailable:
        return False


def _setting_error(proposal: dict[str, Any], reason: str) -> TraitError:
    """A refused setting, named as the user wrote it: ``MusicMagics.default_length = '2s': ...``."""
    return TraitError(f"MusicMagics.{proposal['trait'].name} = {proposal['value']!r}: {reason}.")


def _typical_seconds(ledger: Ledger | None, items: Sequence[BatchItem], account: str) -> float | None:
    """How long the batch's kind of job took lately, from the ledger: the median of the last
    twenty saved jobs of its first model on this account (``None`` without a ledger, or with
    no such job), for the grid's time left before any job reports its progress."""
    if ledger is None or not items:
        return None
    from ..ledger import LedgerUnavailable

    try:
        records = ledger.history(limit=20, model=items[0].request.model, account=account)
    except LedgerUnavailable:  # a guess for a progress line: a ledger that cannot be read gives none
        return None
    seconds = sorted(e for r in records if r.saved and (e := r.elapsed) is not None and e > 0)
    return seconds[len(seconds) // 2] if seconds else None
