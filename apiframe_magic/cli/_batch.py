"""``python -m apiframe_magic batch FILE``: a file of prompts run as one batch, from the shell.

``FILE`` is a text file (one prompt per non-empty line; lines starting with ``#`` are
comments) or a ``.csv`` with a ``prompt`` column and optional ``model``, ``length``, ``format``,
``takes`` and ``params`` columns (:func:`~apiframe_magic.jobs.expand_rows`; the options fill in
empty cells). Every item is checked before anything is sent: a mistake is one line on stderr and
exit status 2. A prompt that repeats an earlier one (exactly, or up to spaces and Unicode form)
with the same options is one job, run once, and a line on stderr says so; ``--takes N`` asks for
N takes of each prompt.

The jobs run through :func:`~apiframe_magic.jobs.run_batch` with the job ledger, so running the
same command again pays only for what is not done: finished jobs are answered from the ledger,
submitted ones are resumed. The audio is saved in ``--output-dir`` and a results CSV (one row
per item: :data:`RESULT_COLUMNS`) is written, atomically, when the run ends, also when it is
interrupted. ``--slice K/N`` runs every N-th item starting at K, so several processes or
machines can share a sweep, each with its own slice, all writing to one ledger.

Progress goes to stderr: one line rewritten in place on a terminal, else one line per finished
job. Exit status: 0 all saved, 1 a job failed (one line names them), 2 a usage mistake, 130
interrupted (the job ids are kept; the same command resumes).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .._aio import run_sync
from .._csv import write_rows
from .._exceptions import ApiframeError
from .._fs import atomic_write
from .._terminal import printable
from ..catalog import (
    DEFAULT_MODEL,
    MODELS,
    ModelSpec,
    OptionError,
    parse_param_among,
    price_bounds,
    split_param,
)
from ..jobs import (
    DEFAULT_OUTPUT_DIR,
    STOPPED,
    Batch,
    BatchEntry,
    BatchItem,
    Budget,
    RunContext,
    Service,
    expand,
    expand_rows,
    folded_note,
    open_ledger,
    resolve_service,
    uses_sandbox,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "RESULT_COLUMNS",
    "add_batch_command",
    "run_batch_command",
]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

RESULT_COLUMNS = (
    "label", "prompt", "take", "model", "params", "job_id", "status", "credits", "path", "duration",
    "error",
)
# The columns a CSV of prompts may have; others are named in one warning and ignored.
INPUT_COLUMNS = ("prompt", "model", "length", "format", "takes", "params")

RESULTS_NAME = "results.csv"
# How often the terminal line refreshes its clock between changes.
_TICK_SECONDS = 1.0
# At most this often between changes (each redraw counts every job).
_REDRAW_SECONDS = 0.1


class UsageProblem(Exception):
    """A mistake in the command: reported in one line, exit status 2, nothing sent."""


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def add_batch_command(commands: Any) -> argparse.ArgumentParser:
    """Add ``batch`` to a subparsers object (``parser.add_subparsers()``); returns its parser."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "batch",
        help="run a file of prompts (text or CSV) as one resumable batch",
        description=(
            "Run every prompt of FILE: a text file (one prompt per line, # comments) or a .csv "
            "with a prompt column and optional model, length, format, takes and params columns "
            "(the options fill in empty cells). Running the same command again pays only for "
            "what is not done yet."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="a text file of prompts or a .csv")
    parser.add_argument("-m", "--model", help=f"model id (default {DEFAULT_MODEL}): " + ", ".join(MODELS))
    parser.add_argument("-l", "--length", help="length for models that take one: 30s, 1m30s, 90 (seconds)")
    parser.add_argument("-f", "--format",
                        help="output format for models that take one, e.g. mp3_high_quality")
    parser.add_argument("--takes", type=_positive_int, default=1, metavar="N",
                        help="takes of each prompt (default 1; a repeated prompt runs once)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a param of the model, repeatable, typed and checked before sending")
    parser.add_argument("-o", "--output-dir", default=DEFAULT_OUTPUT_DIR, metavar="DIR",
                        help=f"where the audio is saved (default {DEFAULT_OUTPUT_DIR})")
    parser.add_argument("--results", metavar="CSV",
                        help=f"the results CSV (default DIR/{RESULTS_NAME}; "
                             "with --slice K/N, DIR/results-K-of-N.csv)")
    parser.add_argument("-c", "--concurrency", type=_positive_int, metavar="N",
                        help="jobs at once (default: the account's maxConcurrentJobs)")
    parser.add_argument("-t", "--timeout", type=_positive_float, default=600.0, metavar="S",
                        help="seconds to wait for each job (default 600)")
    parser.add_argument("--ledger", metavar="PATH|off",
                        help="the job ledger (default $APIFRAME_LEDGER, else one in DIR); off: none")
    parser.add_argument("--budget-credits", type=_positive_int, metavar="N",
                        help="refuse, before anything is sent, jobs that would take this run past "
                             "N credits (a batch that would is refused whole)")
    parser.add_argument("--slice", type=_slice, metavar="K/N",
                        help="run only every N-th item starting at K (0 <= K < N), for sharding")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the items and their documented cost; send nothing")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def _slice(text: str) -> tuple[int, int]:
    k, sep, n = text.partition("/")
    try:
        start, step = int(k), int(n)
    except ValueError:
        start = step = -1
    if not sep or step < 1 or not 0 <= start < step:
        raise argparse.ArgumentTypeError(f"{text!r}: write K/N with 0 <= K < N, e.g. 0/4")
    return start, step


# ---------------------------------------------------------------------------------------------
# Reading the items
# ---------------------------------------------------------------------------------------------


def read_items(args: argparse.Namespace, warn: Any) -> list[BatchItem]:
    """Every item of the file with the options applied (the whole sweep, before ``--slice``);
    :class:`UsageProblem` for anything wrong with them."""
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageProblem(f"{args.file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"{args.file}: cannot read it: {exc}") from None
    model = args.model or DEFAULT_MODEL
    if model not in MODELS:
        raise UsageProblem(f"--model {model}: unknown model; use one of {', '.join(MODELS)}")
    try:
        if path.suffix.lower() == ".csv":
            rows = _csv_rows(text, args.file, warn)
            params = _params(args.param, _models_in(rows, model))
            return expand_rows(rows, model=model, length=args.length, format=args.format,
                               takes=args.takes, params=params)
        # Only newlines end a prompt: str.splitlines() would also split at \f, \x85, U+2028...
        prompts = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
        prompts = [p for p in prompts if p and not p.startswith("#")]
        if not prompts:
            raise UsageProblem(f"{args.file}: no prompts in it (one per line; # starts a comment)")
        params = _params(args.param, [MODELS[model]])
        return expand(prompts, models=model, lengths=args.length, formats=args.format,
                      takes=args.takes, params=params)
    except OptionError as exc:  # an option a model does not take: the message names the option
        raise UsageProblem(_one_line(exc)) from None
    except ApiframeError as exc:  # RequestValidationError: a cell a model does not take
        raise UsageProblem(f"{args.file}: {_one_line(exc)}") from None


def _csv_rows(text: str, name: str, warn: Any) -> list[dict[str, str]]:
    """The rows of a CSV of prompts, read strictly: a quote never closed (which would swallow
    the rows after it into one prompt), a stray quote, a column named twice or a row with more
    filled cells than the header has columns is a :class:`UsageProblem` naming the line."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    fields: list[str] | None = None
    rows: list[dict[str, str]] = []
    start = 1  # the line the record being read starts on
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record:
                continue
            if fields is None:
                fields = [f.strip() for f in record]
                twice = sorted({f for f in fields if f and fields.count(f) > 1})
                if twice:
                    raise UsageProblem(f"{name}: line {line}: " + ", ".join(twice)
                                       + " named twice in the header; keep one of each")
                continue
            if any(cell.strip() for cell in record[len(fields):]):
                raise UsageProblem(f"{name}: line {line}: {len(record)} cells under a header of "
                                   f"{len(fields)} (put a cell holding a comma in double quotes)")
            cells = [*record[:len(fields)], *[""] * (len(fields) - len(record))]
            rows.append(dict(zip(fields, cells, strict=True)))
    except csv.Error as exc:
        reason = ("a quoted cell starts here and is never closed (a missing \")"
                  if "end of data" in str(exc) else f"not a readable CSV: {exc}")
        raise UsageProblem(f"{name}: line {start}: {reason}") from None
    fields = fields or []
    if "prompt" not in fields:
        raise UsageProblem(f"{name}: a CSV needs a prompt column; its columns are "
                           + (", ".join(fields) or "none"))
    unknown = [f for f in fields if f not in INPUT_COLUMNS]
    if unknown:
        warn(f"{name}: ignoring columns {', '.join(unknown)} (read: {', '.join(INPUT_COLUMNS)})")
    if not rows:
        raise UsageProblem(f"{name}: no rows under its header")
    return rows


def _models_in(rows: Sequence[Mapping[str, Any]], default: str) -> list[ModelSpec]:
    """The models a CSV uses, the default first: ``--param`` is typed by the first that has it."""
    ids = dict.fromkeys([default, *(str(r.get("model") or "").strip() for r in rows)])
    return [MODELS[i] for i in ids if i in MODELS]


def _params(items: Sequence[str], specs: Sequence[ModelSpec]) -> dict[str, Any]:
    """``--param KEY=VALUE`` values, typed and checked by the first of ``specs`` that takes ``KEY``
    (the catalog's rule, as in the magic)."""
    params: dict[str, Any] = {}
    try:
        for item in items:
            name, text = split_param(item)
            if name in params:
                raise UsageProblem(f"--param {name}: given twice")
            params[name] = parse_param_among(specs, name, text)
    except OptionError as exc:
        raise UsageProblem(_one_line(exc)) from None
    return params


def _sliced(items: list[BatchItem], part: tuple[int, int] | None) -> list[BatchItem]:
    return items if part is None else items[part[0]::part[1]]


def _one_line(error: BaseException) -> str:
    return printable(" ".join(str(error).split()) or type(error).__name__)


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


def run_batch_command(args: argparse.Namespace, *, stdout: TextIO | None = None,
                      stderr: TextIO | None = None) -> int:
    """Run ``batch`` with parsed ``args``; returns the exit status."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr

    def warn(line: str) -> None:
        print(f"warning: {printable(line)}", file=err, flush=True)

    try:
        every = read_items(args, warn)
        folded = folded_note(every)
        if folded is not None:
            print(printable(folded), file=err, flush=True)
        items = _sliced(every, args.slice)
        if not items:
            return _empty_slice(args, len(every), out, err)
        if args.dry_run:
            _print_dry_run(items, len(every), out, sandbox=uses_sandbox())
            return 0
        results = _results_path(args)
        service = resolve_service(args.ledger, args.output_dir, warn=warn)
    except UsageProblem as exc:
        print(f"error: {printable(exc)}", file=err, flush=True)
        return EXIT_USAGE
    except ApiframeError as exc:  # ConfigurationError: a bad APIFRAME_BASE_URL
        print(f"error: {_one_line(exc)}", file=err, flush=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted before anything was sent", file=err, flush=True)
        return EXIT_INTERRUPTED
    if service.sandbox:
        print(f"APIFRAME_API_KEY is not set: using the offline sandbox at {service.base_url} "
              "(procedural audio composed here, not the AI model)", file=err, flush=True)
    return _run(items, args, service, results, out, err, warn)


def _empty_slice(args: argparse.Namespace, total: int, out: TextIO, err: TextIO) -> int:
    """A slice with no items (more slices than the file has items): nothing to do is success,
    said in one line; a run that is not a dry run still writes its results CSV (the header only),
    so every slice of a sweep has one."""
    k, n = args.slice
    line = (f"--slice {k}/{n}: nothing to do, the file has {total} "
            f"{'item' if total == 1 else 'items'} and none falls in this slice")
    if args.dry_run:
        print(f"Dry run: nothing sent. {line}.", file=out, flush=True)
        return 0
    results = _results_path(args)
    try:
        write_results(results, Batch([]))
    except OSError as exc:
        print(f"error: cannot write the results to {results}: {exc}", file=err, flush=True)
        return EXIT_FAILED
    print(f"{line}; results: {results}", file=out, flush=True)
    return 0


def _results_path(args: argparse.Namespace) -> Path:
    if args.results:
        return Path(args.results)
    name = RESULTS_NAME if args.slice is None else f"results-{args.slice[0]}-of-{args.slice[1]}.csv"
    return Path(args.output_dir) / name


def _run(items: list[BatchItem], args: argparse.Namespace, service: Service, results: Path,
         out: TextIO, err: TextIO, warn: Any) -> int:
    batch = Batch(items)
    ledger = open_ledger(args.ledger, args.output_dir, warn=warn)
    progress = _Progress(batch, err, tty=err.isatty())
    context = RunContext(
        service=service.name, account=service.account, output_dir=args.output_dir, ledger=ledger,
        budget=Budget(args.budget_credits, where="in this run", setting="--budget-credits"),
        timeout=args.timeout, warn=warn,
    )

    async def main() -> None:
        ticker = asyncio.ensure_future(progress.tick()) if progress.tty else None
        try:
            async with service.client() as client:
                await batch.run(client, context, concurrency=args.concurrency, on_change=progress.changed)
        finally:
            if ticker is not None:
                ticker.cancel()

    interrupted = False
    try:
        run_sync(main())
    except KeyboardInterrupt:
        interrupted = True
    except ApiframeError as exc:  # the budget refused the batch, or no client: nothing was sent
        progress.finish()
        print(f"error: {_one_line(exc)}", file=err, flush=True)
        return EXIT_USAGE
    finally:
        if ledger is not None:
            ledger.close()
    progress.finish()
    try:
        write_results(results, batch)
    except OSError as exc:
        print(f"error: cannot write the results to {results}: {exc}", file=err, flush=True)
        return EXIT_FAILED
    if interrupted:
        running = any(e.job_id for e in batch.stopped)
        kept = "" if not running else (
            "; their job ids are kept in the job ledger: run the same command again to collect them"
            if ledger is not None else
            "; the ledger is off: their job ids are in the results CSV only")
        print(printable(f"interrupted: {batch.stop_summary()}{kept} (results so far: {results})"),
              file=err, flush=True)
        return EXIT_INTERRUPTED
    tally = batch.tally()
    print(f"{tally['done']} of {len(batch)} jobs saved in {args.output_dir}, "
          f"{batch.credits} credits spent; results: {results}", file=out, flush=True)
    line = batch.failure_line()
    if line is not None:
        print(printable(line), file=err, flush=True)
        return EXIT_FAILED
    return 0


def result_rows(batch: Batch) -> list[dict[str, Any]]:
    """The rows of the results CSV, as text: ``credits`` is what each job cost when it ran (the
    same when the ledger answers it later, so a re-run writes the same file)."""
    rows = []
    for entry, row in zip(batch.entries, batch.rows(), strict=True):
        if entry.result is not None:
            row["credits"] = entry.result.job.credit_cost
        row["params"] = json.dumps(row["params"], sort_keys=True, ensure_ascii=False)
        rows.append({k: "" if row.get(k) is None else row[k] for k in RESULT_COLUMNS})
    return rows


def write_results(path: Path, batch: Batch) -> None:
    """Write the results CSV all at once (a reader never sees half of it); a text cell a
    spreadsheet would run as a formula starts with ``'`` (the rule of :mod:`apiframe_magic._csv`)."""
    text = io.StringIO(newline="")
    write_rows(text, RESULT_COLUMNS, result_rows(batch))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        file.write(text.getvalue().encode("utf-8"))


def _print_dry_run(items: Sequence[BatchItem], total: int, out: TextIO, *, sandbox: bool) -> None:
    low = high = 0
    undocumented = 0
    for item in items:
        prices = price_bounds(item.request)
        if prices is None:
            undocumented += 1
            shown = "price not documented"
        else:
            low, high = low + prices[0], high + prices[1]
            shown = f"{prices[0]} credits" if prices[0] == prices[1] else f"{prices[0]}-{prices[1]} credits"
        print(f"{printable(item.label)}\t{item.model}\ttake {item.take}\t{shown}", file=out)
    cost_text = f"{low} credits" if low == high else f"{low} to {high} credits"
    extra = f", plus {undocumented} jobs with no documented price" if undocumented else ""
    where = "the offline sandbox (no APIFRAME_API_KEY)" if sandbox else "the API"
    shard = f" (of {total} in the file)" if total != len(items) else ""
    jobs = "1 job" if len(items) == 1 else f"{len(items)} jobs"
    print(f"Dry run: nothing sent. {jobs}{shard} on {where} would cost "
          f"{cost_text}{extra}; jobs already in the ledger cost nothing.", file=out, flush=True)


@dataclass
class _Progress:
    """Progress on ``stream``: one line rewritten with ``\\r`` on a terminal, else a line per
    finished job."""

    batch: Batch
    stream: TextIO
    tty: bool
    _shown: bool = False
    _drawn_at: float = 0.0
    _told: set[int] = field(default_factory=set)

    def changed(self, entry: BatchEntry) -> None:
        if entry.status == STOPPED:
            return  # an interrupt stops them all at once: the summary at the end tells them
        if self.tty:
            if time.monotonic() - self._drawn_at >= _REDRAW_SECONDS:  # a 10,000-job sweep: not per job
                self._redraw()
        elif entry.ended and id(entry) not in self._told:  # an entry is heard again once measured
            self._told.add(id(entry))
            ended = sum(e.ended for e in self.batch.entries)
            what = entry.result.path if entry.result is not None else entry.reason
            print(printable(f"[{ended}/{len(self.batch)}] {entry.status}: {entry.label}: {what}"),
                  file=self.stream, flush=True)

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(_TICK_SECONDS)
            self._redraw()

    def _redraw(self) -> None:
        tally = self.batch.tally()
        elapsed = self.batch.elapsed or 0.0
        line = (f"{tally['done']}/{len(self.batch)} done, {tally['failed']} failed, "
                f"{tally['running']} running, {_clock(elapsed)}, {self.batch.credits} credits")
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()
        self._shown = True
        self._drawn_at = time.monotonic()

    def finish(self) -> None:
        """End the terminal line, so what follows starts on its own."""
        if self.tty and self._shown:
            self._redraw()
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"

