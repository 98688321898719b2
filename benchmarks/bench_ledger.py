"""Benchmarks of the ledger: its overhead per job, the cost of answering a cell from it, and of
reading its whole history.

Prints tables; asserts nothing. Everything runs on a ledger file in a temporary folder (a local
disk, as a ledger beside the outputs is). "A cached cell" is the whole ``%%music`` cell in a real
IPython ``InteractiveShell`` against a loopback :class:`~apiframe_magic.sandbox.SandboxServer`:
parsing, the ledger lookup and checksum, the client made and closed, and the summary shown.

    python benchmarks/bench_ledger.py
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from _table import table  # benchmarks/_table.py: run as a script, this folder is on the path
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

from apiframe_magic import history
from apiframe_magic.ledger import (
    COMPLETED,
    PROCESSING,
    QUEUED,
    Ledger,
    NewJob,
    RatingRecord,
    TrackRecord,
    fingerprint,
    history_frame,
    idempotency_key,
)
from apiframe_magic.sandbox import SandboxServer

JOBS = 300
LOOKUPS = 200
CELL_RUNS = 50
HISTORY_JOBS = 10_000
HISTORY_RUNS = 10
# 30 s of audio in the default format (MP3 at 192 kb/s) and in the largest (16-bit stereo 44.1 kHz
# WAV): hashing costs the same for any bytes of that size.
TRACK_SIZES = {
    "30 s mp3_high_quality (192 kb/s)": 192_000 * 30 // 8,
    "30 s wav_cd_quality (44.1 kHz stereo)": 44_100 * 2 * 2 * 30 + 44,
}



def one_job(ledger: Ledger, n: int, track: TrackRecord) -> str:
    """The ledger's part of one job: what the job runner writes, in order. Returns its fingerprint."""
    params = {"music_length_ms": 30_000, "output_format": "mp3_high_quality"}
    prompt = f"an upbeat synthwave track with a driving bassline, take {n}"
    fp = fingerprint(account="sandbox", model="elevenlabs-music", prompt=prompt, params=params, take=1)
    record = ledger.begin(NewJob(
        fingerprint=fp, account="sandbox", model="elevenlabs-music", prompt=prompt, params=params, take=1,
        request={"prompt": prompt, "model": "elevenlabs-music", "elevenlabsParams": params},
        idempotency_key=idempotency_key(fp), output_dir="apiframe_outputs", reserved=10,
    ))
    job_id = f"job-{n:08d}"
    ledger.submitted(record.id, job_id)
    ledger.status(job_id, QUEUED)
    ledger.status(job_id, PROCESSING, progress=50)
    ledger.status(job_id, COMPLETED, progress=100)
    ledger.completed(job_id, credits=10, tracks=[track])
    return fp


def timed(action: Callable[[int], object], times: int) -> list[float]:
    """Wall time of each of ``times`` calls ``action(0)``, ``action(1)``, ..., in milliseconds."""
    samples = []
    for n in range(times):
        start = time.perf_counter()
        action(n)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def row(what: str, samples: list[float], target: str) -> list[str]:
    return [what, f"{statistics.mean(samples):.2f}", f"{statistics.median(samples):.2f}",
            f"{max(samples):.2f}", target]


def job_overhead(folder: Path) -> None:
    """Mean time of begin + submitted + 3 x status + completed, on a new ledger and on one that
    already holds many jobs."""
    track = TrackRecord(0, str(folder / "track.mp3"), 720_000, "0" * 64, 30.0, "https://cdn/x.mp3", None)
    rows = []
    for existing in (0, 10_000):
        path = folder / f"overhead-{existing}.sqlite3"
        with Ledger.open(path) as ledger:
            for n in range(existing):
                one_job(ledger, 1_000_000 + n, track)

            def write(n: int, ledger: Ledger = ledger) -> None:
                one_job(ledger, n, track)

            samples = timed(write, JOBS)
        rows.append(row(f"one job's writes, ledger holding {existing} jobs", samples, "<= 5 ms"))

        def reopen(_: int, path: Path = path) -> None:
            Ledger.open(path).close()

        samples = timed(reopen, 20)
        rows.append(row(f"Ledger.open + close, {existing + JOBS} jobs", samples, ""))
    table(
        f"Ledger overhead per job (begin + submitted + 3 x status + completed; {JOBS} jobs), ms",
        ["what", "mean", "median", "max", "target"],
        rows,
    )


def cached_answer(folder: Path) -> None:
    """Mean time to find a saved job by fingerprint and check its track file byte for byte."""
    rows = []
    for label, size in TRACK_SIZES.items():
        audio = folder / f"{size}.audio"
        audio.write_bytes(os.urandom(size))
        track = TrackRecord.from_file(0, audio, duration=30.0)
        with Ledger.open(folder / f"lookup-{size}.sqlite3") as ledger:
            for n in range(1000):
                fp = one_job(ledger, n, track)

            def answer(_: int, ledger: Ledger = ledger, fp: str = fp) -> None:
                record = ledger.lookup(fp)
                assert record is not None and record.intact()

            samples = timed(answer, LOOKUPS)
        rows.append(row(f"lookup + intact, {label}, {size / 1e6:.2f} MB", samples, "part of < 50 ms"))
    table(
        f"Answering a cell from the ledger (ledger of 1000 jobs; {LOOKUPS} runs), ms",
        ["what", "mean", "median", "max", "target"],
        rows,
    )


def history_table(folder: Path) -> None:
    """Reading the history of a ledger of 10,000 saved, measured jobs (some rated) as a pandas
    DataFrame, against pandas reading the same rows of the jobs table with one query."""
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]

    path = folder / "history.sqlite3"
    track = TrackRecord(0, str(folder / "track.mp3"), 720_000, "0" * 64, 30.0, "https://cdn/x.mp3", None,
                        {"loudness_lufs": -14.2, "peak_dbfs": -1.1, "clipped_samples": 0})
    with Ledger.open(path) as ledger:
        for n in range(HISTORY_JOBS):
            one_job(ledger, n, track)
        ledger.rate([RatingRecord("bench", "me", "rating", "A", f"job-{n:08d}", 0, 4)
                     for n in range(0, HISTORY_JOBS, 10)])

    def whole_history(_: int) -> None:
        frame = history(ledger=path, limit=HISTORY_JOBS)
        assert len(frame) == HISTORY_JOBS

    def record_by_record(_: int) -> None:
        with Ledger.open(path) as ledger:
            records = ledger.history(limit=HISTORY_JOBS)
            ratings = ledger.ratings(job_ids=[r.job_id for r in records if r.job_id])
            assert len(history_frame(records, ratings)) == HISTORY_JOBS

    def read_sql(_: int) -> None:
        connection = sqlite3.connect(path)
        try:
            frame = pandas.read_sql("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", connection,
                                    params=(HISTORY_JOBS,))
        finally:
            connection.close()
        assert len(frame) == HISTORY_JOBS

    rows = [
        row("apiframe_magic.history(): Ledger.history_rows, 3 queries", timed(whole_history, HISTORY_RUNS),
            "near read_sql"),
        row("history_frame(Ledger.history(), Ledger.ratings()), record by record",
            timed(record_by_record, HISTORY_RUNS), ""),
        row("pandas.read_sql of the same job rows, one query", timed(read_sql, HISTORY_RUNS), ""),
    ]
    table(
        f"The history of {HISTORY_JOBS} jobs as a DataFrame ({HISTORY_RUNS} runs each), ms",
        ["what", "mean", "median", "max", "target"],
        rows,
    )


@contextlib.contextmanager
def music_shell(folder: Path, base_url: str) -> Iterator[InteractiveShell]:
    """A real ``InteractiveShell`` with the extension loaded, working in ``folder`` against
    ``base_url`` with its default ledger there; the process's cwd and environment are restored."""
    names = ("APIFRAME_BASE_URL", "APIFRAME_API_KEY", "APIFRAME_LEDGER", "IPYTHONDIR")
    saved_env = {name: os.environ.get(name) for name in names}
    saved_cwd = os.getcwd()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.update({"APIFRAME_BASE_URL": base_url, "APIFRAME_API_KEY": "afk_bench_ledger",
                       "IPYTHONDIR": str(folder / "ipython")})
    os.environ.pop("APIFRAME_LEDGER", None)
    os.chdir(folder)
    config = Config()
    config.HistoryManager.enabled = False  # no IPython history database in the timings
    shell = InteractiveShell.instance(config=config)
    try:
        shell.run_line_magic("load_ext", "apiframe_magic")
        yield shell
    finally:
        with contextlib.suppress(Exception):
            shell.run_line_magic("unload_ext", "apiframe_magic")
        InteractiveShell.clear_instance()
        os.chdir(saved_cwd)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_cell(shell: InteractiveShell, cell: str) -> None:
    """Run ``cell`` with its output captured (not printed); raise its error, if any."""
    with capture_output():
        shell.run_cell(cell).raise_error()  # type: ignore[no-untyped-call]


def cached_cell(folder: Path) -> None:
    """Wall time of a whole ``%%music`` cell answered from the ledger, for a 30 s track: the cell
    is run once (submitted, generated, saved, recorded), then run again ``CELL_RUNS`` times."""
    rows = []
    with SandboxServer(job_seconds=0.2) as server:
        for audio_format in ("mp3_high_quality", "wav_cd_quality"):
            cell = (f"%%music --length 30s --format {audio_format} --out track\n"
                    "an upbeat synthwave track with a driving bassline\n")
            with music_shell(folder / f"cell-{audio_format}", server.url) as shell:
                run_cell(shell, cell)
                posts = sum(r.method == "POST" for r in server.recorded_requests())

                def rerun(_: int, shell: InteractiveShell = shell, cell: str = cell) -> None:
                    run_cell(shell, cell)
                    if not shell.user_ns["track"].from_ledger:
                        raise RuntimeError("the re-run was not answered from the ledger")

                samples = timed(rerun, CELL_RUNS)
                if sum(r.method == "POST" for r in server.recorded_requests()) != posts:
                    raise RuntimeError("a re-run sent a POST")
            rows.append(row(f"a cached cell, 30 s {audio_format}", samples, "< 50 ms"))
    table(
        f"A cached cell: %%music answered from the ledger in an InteractiveShell ({CELL_RUNS} runs), ms",
        ["what", "mean", "median", "max", "target"],
        rows,
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        folder = Path(tmp)
        job_overhead(folder)
        cached_answer(folder)
        history_table(folder)
        cached_cell(folder)


if __name__ == "__main__":
    main()
