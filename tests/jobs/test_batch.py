"""Many jobs at once (:func:`expand`, :func:`run_batch`, :func:`start_batch`) against the real
sandbox over HTTP: every combination labelled by what varies, jobs concurrent on one client and
never more than the limit, a failed job that stops nothing, a 429 storm that drops no job and
submits none twice, re-runs paid for only once through the ledger, and stopping that keeps every
job id.

Where a test must see jobs that are certainly still running, the sandbox renders through a gate
(the real renderer, held back until the test opens it); nothing is timed, every count is exact.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from apiframe_magic._exceptions import ConfigurationError, JobFailedError, RequestValidationError
from apiframe_magic.client import AsyncApiframeClient, Job
from apiframe_magic.jobs import (
    Batch,
    BatchEntry,
    BatchItem,
    JobObserver,
    expand,
    expand_rows,
    run_batch,
    start_batch,
)
from apiframe_magic.jobs._batch import BATCH_COLUMNS, DEFAULT_CONCURRENCY
from apiframe_magic.ledger import Ledger
from apiframe_magic.sandbox import SandboxServer
from apiframe_magic.sandbox._audio import render_audio
from tests.conftest import CANARY_KEY

FAST: dict[str, Any] = {"poll_interval": 0.05, "max_poll_interval": 0.2}
GENERATE = "/v2/music/generate"


def client_for(sandbox: SandboxServer) -> AsyncApiframeClient:
    return AsyncApiframeClient(CANARY_KEY, sandbox.url, **FAST)


def tunes(n: int, **options: Any) -> list[BatchItem]:
    return expand([f"short test tune number {i}" for i in range(n)], lengths="5s", **options)


def requests_to(sandbox: SandboxServer, method: str, path: str) -> int:
    return sum(1 for r in sandbox.recorded_requests()
               if r.origin == "api" and r.method == method and r.path == path)


def downloads(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.recorded_requests() if r.origin == "cdn" and r.path.startswith("/audio/"))


class Gate:
    """The sandbox's real renderer, held back until :meth:`open`: a job cannot end before."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, prompt: str, *, length_ms: int, output_format: str,
                 force_instrumental: bool = False, variation: int = 0) -> bytes:
        self.event.wait(60)
        return render_audio(prompt, length_ms=length_ms, output_format=output_format,
                            force_instrumental=force_instrumental, variation=variation)

    def open(self) -> None:
        self.event.set()


class Cards:
    """One observer per job, as a grid's cards are, counting the jobs submitted and not yet
    downloading: those are the ones running on the service. ``open_at`` opens ``gate`` once that
    many run at once."""

    def __init__(self, gate: Gate | None = None, open_at: int | None = None) -> None:
        self.gate, self.open_at = gate, open_at
        self.running = 0
        self.peak = 0
        self.events: dict[str, list[str]] = {}

    def observer_for(self, item: BatchItem) -> JobObserver:
        return _Card(self, item.label)


class _Card:
    def __init__(self, cards: Cards, label: str) -> None:
        self.cards, self.label = cards, label
        cards.events[label] = []

    def submitted(self, job_id: str) -> None:
        self.cards.events[self.label].append("submitted")
        self.cards.running += 1
        self.cards.peak = max(self.cards.peak, self.cards.running)
        if self.cards.gate is not None and self.cards.running == self.cards.open_at:
            self.cards.gate.open()

    def progress(self, job: Job) -> None:
        if self.cards.events[self.label][-1:] != ["progress"]:
            self.cards.events[self.label].append("progress")

    def downloading(self, job: Job) -> None:
        self.cards.events[self.label].append("downloading")
        self.cards.running -= 1


# -- expand: every combination, labelled by what varies -----------------------------------------


def test_expand_makes_every_combination_in_order_labelled_by_what_varies() -> None:
    items = expand(["lofi beat for studying late at night", "dark jazz"], lengths=["5s", "30s"], takes=2)
    assert [i.label for i in items] == [
        "lofi beat for studying… · 5s · take 1", "lofi beat for studying… · 5s · take 2",
        "lofi beat for studying… · 30s · take 1", "lofi beat for studying… · 30s · take 2",
        "dark jazz · 5s · take 1", "dark jazz · 5s · take 2",
        "dark jazz · 30s · take 1", "dark jazz · 30s · take 2",
    ]
    assert [i.take for i in items] == [1, 2] * 4
    assert items[2].request.to_json() == {
        "prompt": "lofi beat for studying late at night", "model": "elevenlabs-music",
        "elevenlabsParams": {"music_length_ms": 30_000},
    }
    # Only what varies is named: models here, nothing else.
    by_model = expand("calm piano", models=["suno", "udio"], instrumental=True)
    assert [i.label for i in by_model] == ["suno", "udio"]
    assert by_model[1].request.params == {"lyrics_type": "instrumental"}
    # One item names itself by its prompt; formats that vary name themselves.
    assert [i.label for i in expand("calm piano")] == ["calm piano"]
    assert [i.label for i in expand("calm piano", formats=["mp3_standard", None])] == [
        "mp3_standard", "mp3_high_quality"]
    assert [i.label for i in expand("calm piano", lengths=["30s", None])] == ["30s", "any length"]


def test_a_prompt_listed_twice_runs_once_and_alike_prompts_are_told_apart() -> None:
    assert [(i.label, i.take, i.folded) for i in expand(["a", "a", "b"])] == [
        ("a", 1, ("a",)), ("b", 1, ())]
    assert [(i.label, i.take) for i in expand(["a", "a", "b"], takes=2)] == [
        ("a · take 1", 1), ("a · take 2", 2), ("b · take 1", 1), ("b · take 2", 2)]
    alike = expand(["an upbeat synthwave track with a driving bassline",
                    "an upbeat synthwave track with soaring strings"])
    assert [i.label for i in alike] == ["an upbeat synthwave track with a…",
                                        "an upbeat synthwave track with soaring…"]


def test_expand_refuses_what_a_model_does_not_take_before_anything_runs() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"models": ["elevenlabs-music", "suno"], "lengths": "30s"}, "--length"),
        ({"models": "udio", "formats": "wav_16khz"}, "--format"),
        ({"seed": 7}, "--seed"),
        ({"models": "lyria-3-pro", "instrumental": True}, "--instrumental"),
        ({"models": "nope"}, "model"),
        ({"lengths": "4s"}, "--length"),
        ({"lengths": "half a minute"}, "--length"),
        ({"params": {"volume": 11}}, "elevenlabsParams.volume"),
        ({"takes": 0}, "takes"),
    ]
    for options, field in cases:
        with pytest.raises(RequestValidationError) as caught:
            expand(["calm piano"], **options)
        assert caught.value.field == field, options
    with pytest.raises(RequestValidationError, match="--length: suno does not take it; models that do: e"):
        expand("x", models="suno", lengths="30s")
    for prompts in ([], ["fine", "  "], ["fine", float("nan")]):
        with pytest.raises(RequestValidationError):
            expand(prompts)


def test_expand_takes_a_pandas_series_or_a_dataframe_prompt_column() -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"prompt": ["calm piano", "dark jazz"], "mood": ["calm", "dark"]})
    assert [i.prompt for i in expand(frame)] == ["calm piano", "dark jazz"]
    assert [i.prompt for i in expand(frame["prompt"])] == ["calm piano", "dark jazz"]
    with pytest.raises(RequestValidationError):
        expand(frame[["mood"]])


def test_expand_rows_reads_a_table_row_by_row() -> None:
    rows = [
        {"prompt": "calm piano", "model": "", "length": "10s", "format": "", "takes": "2", "params": ""},
        {"prompt": "dark jazz", "model": "mureka", "length": "", "takes": "", "params": '{"n": 3}'},
    ]
    items = expand_rows(rows)
    assert [(i.label, i.take) for i in items] == [
        ("calm piano · elevenlabs-music · 10s · take 1", 1),
        ("calm piano · elevenlabs-music · 10s · take 2", 2),
        ("dark jazz · mureka · any length · n=3 · take 1", 1),
    ]
    assert items[2].request.track_count == 3
    with pytest.raises(RequestValidationError):
        expand_rows([{"prompt": "x", "model": "suno", "length": "30s"}])
    with pytest.raises(RequestValidationError):
        expand_rows([{"prompt": "x", "params": "n=3"}])


# -- running: concurrent on one client, bounded ---------------------------------------------------


def test_sixteen_prompts_run_concurrently_on_one_client_up_to_the_accounts_limit(tmp_path: Path) -> None:
    gate = Gate()
    with SandboxServer(job_seconds=0.3, renderer=gate) as sandbox:
        async def go() -> tuple[int, Batch, Cards]:
            async with client_for(sandbox) as client:
                limit = (await client.me()).max_concurrent_jobs
                assert limit is not None
                # No job can end before `limit` of them run at once: the gate opens then.
                cards = Cards(gate, open_at=min(16, limit))
                batch = await run_batch(client, tunes(16), backend="sandbox", output_dir=tmp_path,
                                        observer_for=cards.observer_for)
                return limit, batch, cards

        limit, batch, cards = asyncio.run(go())
        assert batch.concurrency == limit
        assert cards.peak == min(16, limit) and cards.running == 0
        assert [e.status for e in batch.entries] == ["done"] * 16 and not batch.failed
        assert len(set(batch.job_ids)) == 16 and batch.failure_line() is None
        assert requests_to(sandbox, "POST", GENERATE) == 16 == sandbox.jobs_created
        assert requests_to(sandbox, "GET", "/v2/me") == 2  # the test's, and the batch's own
        assert downloads(sandbox) == 16
    assert all(events[0] == "submitted" and events[-1] == "downloading" for events in cards.events.values())
    assert [r.prompt for r in batch] == [i.prompt for i in batch.items]
    assert all(r.path.is_file() and r.path.parent == tmp_path for r in batch)
    assert batch.credits == 16 * 10 and batch.tally()["done"] == 16


def test_the_concurrency_given_bounds_the_jobs_running_at_once(tmp_path: Path) -> None:
    gate = Gate()
    with SandboxServer(job_seconds=0.2, renderer=gate) as sandbox:
        cards = Cards(gate, open_at=2)

        async def go() -> Batch:
            async with client_for(sandbox) as client:
                return await run_batch(client, tunes(6), backend="sandbox", output_dir=tmp_path,
                                       concurrency=2, observer_for=cards.observer_for)

        batch = asyncio.run(go())
        assert batch.concurrency == 2 and cards.peak == 2
        assert len(batch.results) == 6 and sandbox.jobs_created == 6
        assert requests_to(sandbox, "GET", "/v2/me") == 0  # a given limit needs no look
    with pytest.raises(RequestValidationError):
        asyncio.run(run_batch(client_for(sandbox), tunes(1), backend="sandbox", concurrency=0))


def test_without_an_answer_from_me_the_batch_runs_four_at_a_time(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.faults.inject("unavailable", times=3, route="any")  # GET /v2/me, and its two retries

    async def go() -> Batch:
        async with client_for(sandbox) as client:
            return await run_batch(client, tunes(2), backend="sandbox", output_dir=tmp_path)

    batch = asyncio.run(go())
    assert batch.concurrency == DEFAULT_CONCURRENCY == 4
    assert len(batch.results) == 2 and requests_to(sandbox, "GET", "/v2/me") == 3


# -- failures stop nothing ------------------------------------------------------------------------


def test_a_failing_job_is_recorded_on_its_entry_and_the_others_finish(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.faults.inject("fail_job", times=1, message="Provider returned an error: content policy")

    async def go() -> Batch:
        async with client_for(sandbox) as client:
            return await run_batch(client, tunes(4), backend="sandbox", output_dir=tmp_path)

    batch = asyncio.run(go())
    (failed,) = batch.failed
    assert isinstance(failed, BatchEntry) and failed.status == "failed"
    assert isinstance(failed.error, JobFailedError) and failed.job_id == failed.error.job_id
    assert failed.job_id is not None and failed.job_id in batch.job_ids
    assert failed.reason is not None and "content policy" in failed.reason
    assert len(batch.results) == 3 and sandbox.jobs_created == 4
    index = batch.entries.index(failed)
    with pytest.raises(JobFailedError):
        batch[index]
    with pytest.raises(JobFailedError):
        list(batch)
    line = batch.failure_line()
    assert line is not None and line.startswith("1 of 4 jobs failed: ") and failed.label in line
    assert "\n" not in line
    row = batch.rows()[index]
    assert row["status"] == "failed" and row["job_id"] == failed.job_id and "content policy" in row["error"]
    assert row["path"] is None and row["credits"] is None


def test_a_429_storm_drops_no_job_and_submits_none_twice(sandbox: SandboxServer, tmp_path: Path) -> None:
    """One job at a time: the first job's submit meets seven 429s in a row, more than the
    client's own retries, so the batch waits out the Retry-After and submits it again."""
    sandbox.faults.inject("rate_limit", times=7, route="submit", retry_after=0)
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        async def go() -> Batch:
            async with client_for(sandbox) as client:
                return await run_batch(client, tunes(3), backend="sandbox", output_dir=tmp_path,
                                       ledger=ledger, concurrency=1)

        batch = asyncio.run(go())
        assert [e.status for e in batch.entries] == ["done"] * 3
        assert requests_to(sandbox, "POST", GENERATE) == 3 + 7
        assert sandbox.jobs_created == 3 and len(set(batch.job_ids)) == 3
        assert {r.job_id for r in ledger.history(limit=None) if r.saved} == set(batch.job_ids)


def test_over_the_accounts_limit_the_sandboxs_429s_are_waited_out(tmp_path: Path) -> None:
    if not hasattr(SandboxServer, "set_limits"):
        pytest.skip("this sandbox does not enforce maxConcurrentJobs")
    with SandboxServer(job_seconds=0.3) as sandbox:
        sandbox.set_limits(max_concurrent_jobs=2, over_limit="reject")

        async def go() -> Batch:
            async with client_for(sandbox) as client:
                return await run_batch(client, tunes(4), backend="sandbox", output_dir=tmp_path,
                                       concurrency=4)

        batch = asyncio.run(go())
        assert [e.status for e in batch.entries] == ["done"] * 4
        assert sandbox.jobs_created == 4 and len(set(batch.job_ids)) == 4
        assert requests_to(sandbox, "POST", GENERATE) > 4  # some were refused, then sent again


def test_a_failing_on_change_is_warned_about_and_fails_no_job(sandbox: SandboxServer, tmp_path: Path) -> None:
    heard: list[str] = []

    def broken(entry: BatchEntry) -> None:
        raise ValueError("the grid broke")

    async def go() -> Batch:
        async with client_for(sandbox) as client:
            return await run_batch(client, tunes(2), backend="sandbox", output_dir=tmp_path,
                                   on_change=broken, warn=heard.append)

    batch = asyncio.run(go())
    assert [e.status for e in batch.entries] == ["done", "done"]
    assert {line for line in heard} == {
        f"on_change failed for {e.label}: ValueError: the grid broke" for e in batch.entries}


# -- the ledger: a re-run pays only for what is not done -------------------------------------------


def test_running_a_batch_again_with_the_ledger_sends_no_post(sandbox: SandboxServer, tmp_path: Path) -> None:
    items = tunes(2, takes=2)
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        async def go() -> Batch:
            async with client_for(sandbox) as client:
                return await run_batch(client, items, backend="sandbox", output_dir=tmp_path, ledger=ledger)

        first = asyncio.run(go())
        assert requests_to(sandbox, "POST", GENERATE) == 4 and first.credits == 40
        again = asyncio.run(go())
    assert requests_to(sandbox, "POST", GENERATE) == 4 and sandbox.jobs_created == 4
    assert all(r.from_ledger for r in again) and again.credits == 0
    assert again.job_ids == first.job_ids
    assert [r.path for r in again] == [r.path for r in first]


def test_to_dataframe_has_a_row_per_item_with_the_batch_columns(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    pandas = pytest.importorskip("pandas")
    items = expand(["calm piano", "dark jazz"], lengths="5s")

    async def go() -> Batch:
        async with client_for(sandbox) as client:
            return await run_batch(client, items, backend="sandbox", output_dir=tmp_path)

    batch = asyncio.run(go())
    frame = batch.to_dataframe()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == list(BATCH_COLUMNS)
    assert list(frame.columns)[:10] == ["label", "prompt", "take", "model", "params", "job_id", "status",
                                        "credits", "path", "duration"]
    assert frame["label"].tolist() == ["calm piano", "dark jazz"]
    assert frame["status"].tolist() == ["done", "done"] and frame["credits"].tolist() == [10, 10]
    assert frame["job_id"].tolist() == batch.job_ids
    assert frame["params"].tolist() == [{"music_length_ms": 5000}] * 2
    assert frame["path"].tolist() == [str(r.path) for r in batch]
    assert all(abs(d - 5.0) < 0.2 for d in frame["duration"])
    assert [list(row) for row in batch.rows()] == [list(BATCH_COLUMNS)] * 2


# -- working while it runs, and stopping -----------------------------------------------------------


def test_a_batch_started_in_the_background_is_usable_at_once(tmp_path: Path) -> None:
    gate = Gate()
    with SandboxServer(job_seconds=0.2, renderer=gate) as sandbox:
        batch = start_batch(lambda: client_for(sandbox), tunes(3), backend="sandbox", output_dir=tmp_path)
        assert len(batch) == 3 and not batch.done  # no job can end while the gate is shut
        with pytest.raises(RuntimeError, match="still"):
            batch[0]
        with pytest.raises(TimeoutError):
            batch.wait(timeout=0.05)
        gate.open()
        assert batch.wait() is batch and batch.done
        assert asyncio.run(batch.wait_async()) is batch
        assert len(batch.results) == 3 and sandbox.jobs_created == 3
        assert batch.concurrency is not None and all(r.path.is_file() for r in batch)
        with pytest.raises(RuntimeError, match="runs once"):
            asyncio.run(batch.run(client_for(sandbox), backend="sandbox"))


def test_a_background_batch_whose_client_cannot_be_made_fails_every_job(tmp_path: Path) -> None:
    def connect() -> AsyncApiframeClient:
        raise ConfigurationError("no Apiframe API key")

    batch = start_batch(connect, tunes(2), backend="sandbox", output_dir=tmp_path).wait()
    assert [e.status for e in batch.entries] == ["failed", "failed"]
    assert all(isinstance(e.error, ConfigurationError) for e in batch.entries)
    assert "no Apiframe API key" in (batch.failure_line() or "")


def test_stopping_a_batch_keeps_every_job_id_and_a_rerun_resumes_them(tmp_path: Path) -> None:
    gate = Gate()
    with SandboxServer(job_seconds=0.2, renderer=gate) as sandbox, \
            Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        items = tunes(4)
        two_submitted = threading.Event()
        submitted: set[str] = set()

        def changed(entry: BatchEntry) -> None:  # on the batch's own thread
            if entry.job_id is not None:
                submitted.add(entry.job_id)
            if len(submitted) == 2:
                two_submitted.set()

        batch = start_batch(lambda: client_for(sandbox), items, backend="sandbox", output_dir=tmp_path,
                            ledger=ledger, concurrency=2, on_change=changed)
        assert two_submitted.wait(60)
        batch.cancel()
        batch.wait()
        assert [e.status for e in batch.entries] == ["stopped"] * 4
        kept = batch.job_ids
        assert len(kept) == 2 and {e.job_id for e in batch.stopped} == {*kept, None}
        assert {r.job_id for r in ledger.pending()} == set(kept)
        line = batch.failure_line()
        assert line is not None and line.startswith("4 stopped: ")
        assert all(f"still running on the server as job {j}" in (e.reason or "")
                   for e in batch.entries if (j := e.job_id))
        assert all(e.reason == "not submitted: nothing was charged" for e in batch.entries if not e.job_id)

        gate.open()

        async def again() -> Batch:
            async with client_for(sandbox) as client:
                return await run_batch(client, items, backend="sandbox", output_dir=tmp_path, ledger=ledger)

        rerun = asyncio.run(again())
        assert [e.status for e in rerun.entries] == ["done"] * 4
        assert set(kept) <= set(rerun.job_ids)
        assert requests_to(sandbox, "POST", GENERATE) == 4 == sandbox.jobs_created
        assert ledger.pending() == []


def test_cancelling_a_running_batch_stops_its_jobs_and_keeps_their_ids(tmp_path: Path) -> None:
    """As Ctrl-C does to a cell waiting on a batch (``run_sync`` cancels its task)."""
    gate = Gate()
    with SandboxServer(job_seconds=0.2, renderer=gate) as sandbox:
        batch = Batch(tunes(3))

        async def go() -> None:
            running = asyncio.Event()

            def changed(entry: BatchEntry) -> None:
                if len(batch.job_ids) == 2:
                    running.set()

            async with client_for(sandbox) as client:
                task = asyncio.ensure_future(batch.run(
                    client, backend="sandbox", output_dir=tmp_path, concurrency=2, on_change=changed))
                await running.wait()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        try:
            asyncio.run(go())
        finally:
            gate.open()
        assert batch.done and [e.status for e in batch.entries] == ["stopped"] * 3
        assert len(batch.job_ids) == 2 and sandbox.jobs_created == 2
        with pytest.raises(RuntimeError, match="stopped"):
            batch[0]
