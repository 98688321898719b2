"""``python -m apiframe_magic batch FILE``: a file of prompts run as one batch, from the shell.

``FILE`` is a text file (one prompt per non-empty line; lines starting with ``#`` are
comments) or a ``.csv`` with a ``prompt`` column and optional ``model``, ``length``, ``format``,
``takes`` and ``params`` columns (:func:`~apiframe_magic.jobs.expand_rows`; the options fill in
empty cells). Every item is checked before anything is sent: a mistake is one line on stderr and
exit status 2.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .._aio import run_sync
from .._exceptions import ApiframeError
from .._fs import atomic_write
from ..catalog import DEFAULT_MODEL, MODELS, ModelSpec
from ..jobs import (
    DEFAULT_OUTPUT_DIR,
    Backend,
    Batch,
    BatchEntry,
    BatchItem,
    expand,
    expand_rows,
    open_ledger,
    resolve_backend,
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
                        help="takes of each prompt (default 1)")
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
        prompts = [line.strip() for line in text.splitlines()]
        prompts = [p for p in prompts if p and not p.startswith("#")]
        if not prompts:
            raise UsageProblem(f"{args.file}: no prompts in it (one per line; # starts a comment)")
        params = _params(args.param, [MODELS[model]])
        return expand(prompts, models=model, lengths=args.length, formats=args.format,
                      takes=args.takes, params=params)
    except ApiframeError as exc:  # RequestValidationError: an option or cell a model does not take
        raise UsageProblem(f"{args.file}: {_one_line(exc)}") from None


def _csv_rows(text: str, name: str, warn: Any) -> list[dict[str, str]]:
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        fields = [f.strip() for f in reader.fieldnames or ()]
        if "prompt" not in fields:
            raise UsageProblem(f"{name}: a CSV needs a prompt column; its columns are "
                               + (", ".join(fields) or "none"))
        reader.fieldnames = fields
        rows = [dict(row) for row in reader]
    except csv.Error as exc:
        raise UsageProblem(f"{name}: not a readable CSV: {exc}") from None
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
    """``--param KEY=VALUE`` values, typed as the first of ``specs`` that takes ``KEY`` types them."""
    params: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageProblem(f"--param {item}: write KEY=VALUE, e.g. --param n=3")
        spec = next((s.param(name) for s in specs if s.param(name) is not None), None)
        if spec is None:
            takers = [m.id for m in MODELS.values() if m.param(name) is not None]
            raise UsageProblem(
                f"--param {name}: " + ", ".join(s.id for s in specs) + f" has no param {name}"
                + (f"; models that do: {', '.join(takers)}" if takers else "")
            )
        if name in params:
            raise UsageProblem(f"--param {name}: given twice")
        try:
            params[name] = spec.parse(text)
        except ValueError as exc:
            raise UsageProblem(f"--param {item}: {name} {exc}") from None
    return params


def _sliced(items: list[BatchItem], part: tuple[int, int] | None) -> list[BatchItem]:
    return items if part is None else items[part[0]::part[1]]


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


def run_batch_command(args: argparse.Namespace, *, stdout: TextIO | None = None,
                      stderr: TextIO | None = None) -> int:
    """Run ``batch`` with parsed ``args``; returns the exit status."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr

    def warn(line: str) -> None:
        print(f"warning: {line}", file=err, flush=True)

    try:
        every = read_items(args, warn)
        items = _sliced(every, args.slice)
        if not items:
            raise UsageProblem(f"--slice {args.slice[0]}/{args.slice[1]}: no items in this slice "
                               f"(the file has {len(every)})")
        if args.dry_run:
            _print_dry_run(items, len(every), out, sandbox=uses_sandbox())
            return 0
        results = _results_path(args)
        backend = resolve_backend()
    except UsageProblem as exc:
        print(f"error: {exc}", file=err, flush=True)
        return EXIT_USAGE
    except ApiframeError as exc:  # ConfigurationError: a bad APIFRAME_BASE_URL
        print(f"error: {_one_line(exc)}", file=err, flush=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted before anything was sent", file=err, flush=True)
        return EXIT_INTERRUPTED
    if backend.sandbox:
        print(f"APIFRAME_API_KEY is not set: using the offline sandbox at {backend.base_url} "
              "(procedural audio composed here, not the AI model)", file=err, flush=True)
    return _run(items, args, backend, results, out, err, warn)


def _results_path(args: argparse.Namespace) -> Path:
    if args.results:
        return Path(args.results)
    name = RESULTS_NAME if args.slice is None else f"results-{args.slice[0]}-of-{args.slice[1]}.csv"
    return Path(args.output_dir) / name


def _run(items: list[BatchItem], args: argparse.Namespace, backend: Backend, results: Path,
         out: TextIO, err: TextIO, warn: Any) -> int:
    batch = Batch(items)
    ledger = open_ledger(args.ledger, args.output_dir, warn=warn)
    progress = _Progress(batch, err, tty=err.isatty())

    async def main() -> None:
        ticker = asyncio.ensure_future(progress.tick()) if progress.tty else None
        try:
            async with backend.client() as client:
                await batch.run(
                    client, backend=backend.name, output_dir=args.output_dir, ledger=ledger,
                    concurrency=args.concurrency, timeout=args.timeout,
                    on_change=progress.changed, warn=warn,
                )
        finally:
            if ticker is not None:
                ticker.cancel()

    interrupted = False
    try:
        run_sync(main())
    except KeyboardInterrupt:
        interrupted = True
    except ApiframeError as exc:  # e.g. no client can be made: nothing was sent
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
        kept = ("their job ids are kept in the job ledger; run the same command again to resume"
                if ledger is not None else
                "the ledger is off, so running the command again submits them again")
        print(f"interrupted: {len(batch.stopped)} of {len(batch)} jobs stopped; {kept} "
              f"(results so far: {results})", file=err, flush=True)
        return EXIT_INTERRUPTED
    tally = batch.tally()
    print(f"{tally['done']} of {len(batch)} jobs saved in {args.output_dir}, "
          f"{batch.credits} credits spent; results: {results}", file=out, flush=True)
    line = batch.failure_line()
    if line is not None:
        print(line, file=err, flush=True)
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
    """Write the results CSV all at once (a reader never sees half of it)."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(RESULT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(result_rows(batch))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        file.write(text.getvalue().encode("utf-8"))


def _print_dry_run(items: Sequence[BatchItem], total: int, out: TextIO, *, sandbox: bool) -> None:
    low = high = 0
    undocumented = 0
    for item in items:
        cost = item.request.credit_cost
        prices = (cost, cost) if cost is not None else item.request.spec.cost_range()
        if prices is None:
            undocumented += 1
            shown = "price not documented"
        else:
            low, high = low + prices[0], high + prices[1]
            shown = f"{prices[0]} credits" if prices[0] == prices[1] else f"{prices[0]}-{prices[1]} credits"
        print(f"{item.label}\t{item.model}\ttake {item.take}\t{shown}", file=out)
    cost_text = f"{low} credits" if low == high else f"{low} to {high} credits"
    extra = f", plus {undocumented} jobs with no documented price" if undocumented else ""
    where = "the offline sandbox (no APIFRAME_API_KEY)" if sandbox else "the API"
    shard = f" (of {total} in the file)" if total != len(items) else ""
    print(f"Dry run: nothing sent. {len(items)} jobs{shard} on {where} would cost "
          f"{cost_text}{extra}; jobs already in the ledger cost nothing.", file=out, flush=True)


@dataclass
class _Progress:
    """Progress on ``stream``: one line rewritten with ``\\r`` on a terminal, else a line per
    finished job."""

    batch: Batch
    stream: TextIO
    tty: bool
    _shown: bool = False

    def changed(self, entry: BatchEntry) -> None:
        if self.tty:
            self._redraw()
        elif entry.ended:
            ended = sum(e.ended for e in self.batch.entries)
            what = entry.result.path if entry.result is not None else entry.reason
            print(f"[{ended}/{len(self.batch)}] {entry.status}: {entry.label}: {what}",
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

