"""The batch grid's progress: a job is done the moment its audio is saved (its measurements come
after, into the same card), and the time left comes from the jobs' own progress."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from apiframe_magic.client import AsyncApiframeClient
from apiframe_magic.display import BatchGrid
from apiframe_magic.display._grid import _JobTiming, estimate_seconds_left
from apiframe_magic.jobs import Batch, BatchEntry, expand
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY
from tests.jobs.test_batch import FAST


def test_an_entry_is_done_when_saved_and_heard_again_once_measured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = expand(["a calm tune", "a bright tune"], lengths="5s")
    grid = BatchGrid(items, live=False, embed_limit_bytes=0)
    heard: list[tuple[str, str, bool, bool]] = []

    def changed(entry: BatchEntry) -> None:
        measured = entry.result is not None and all(t.measurements is not None for t in entry.result.tracks)
        heard.append((entry.label, entry.status, entry.measuring, measured))
        grid.on_change(entry)

    async def go() -> Batch:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
            return await Batch(items).run(client, backend="sandbox", output_dir=tmp_path, concurrency=2,
                                          observer_for=grid.observer_for, on_change=changed)

    with SandboxServer(job_seconds=0.2) as sandbox:
        batch = asyncio.run(go())
    for item in items:
        mine = [h[1:] for h in heard if h[0] == item.label]
        done = mine.index(("done", True, False))  # done, saved, measuring
        assert ("done", False, True) in mine[done:], mine  # then heard again, measured
        assert all(status != "running" for status, *_ in mine[done:]), "done stays done"
    assert all(e.ended_at is not None and not e.measuring for e in batch.entries)
    assert all(t.measurements is not None for r in batch for t in r.tracks)
    assert grid.finished, "the grid ends once the last measurements are in"
    printed = capsys.readouterr().out
    assert printed.count("[apiframe] ✔") == 2 and "2 of 2 done" in printed


@pytest.mark.parametrize(
    ("jobs", "typical", "expected"),
    [
        # Nothing known: no estimate rather than a wrong one.
        ([_JobTiming("running", None, 1.0), _JobTiming("waiting", None, None)], None, None),
        # The ledger's history alone: 10 s a job, one running for 4 s, one waiting after it.
        ([_JobTiming("running", None, 4.0), _JobTiming("waiting", None, None)], 10.0, 16.0),
        # A job at 25 % after 3 s needs 9 s more, then the waiting one a whole 12 s.
        ([_JobTiming("running", 25, 3.0), _JobTiming("waiting", None, None)], None, 21.0),
        # Saved jobs give the length (8 s); two running at once take the four waiting in two rounds.
        ([_JobTiming("done", None, 8.0), _JobTiming("running", 50, 4.0), _JobTiming("running", 75, 6.0),
          *[_JobTiming("waiting", None, None)] * 4], 100.0, 4.0 + 2 * 8.0),
        # The last job, nearly there: the time left is its own, not the batch's average.
        ([*[_JobTiming("done", None, 30.0)] * 15, _JobTiming("running", 99, 29.7)], None, 0.3),
    ],
)
def test_the_time_left_comes_from_the_jobs_progress(
    jobs: list[_JobTiming], typical: float | None, expected: float | None
) -> None:
    left = estimate_seconds_left(jobs, typical)
    assert left == (None if expected is None else pytest.approx(expected))
