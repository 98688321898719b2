"""The Python API as the README shows it: blocking forms with the blocking client, awaitable
forms with the async one, a listening test on the default ledger, measurements filled in once
the analysis extra is there. Real HTTP over loopback to the embedded sandbox."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from apiframe_magic import (
    ApiframeClient,
    AsyncApiframeClient,
    Batch,
    ListeningTest,
    MusicRequest,
    MusicResult,
    expand,
    generate,
    resume,
    run_batch,
)
from apiframe_magic.analysis import NEEDS_EXTRA, Measurements
from apiframe_magic.jobs import submit
from apiframe_magic.ledger import Ledger

REQUEST = MusicRequest("a short calm piano", music_length_ms=5000)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("APIFRAME_LEDGER", raising=False)


def test_generate_with_the_blocking_client_blocks_and_returns_the_result(tmp_path: Path) -> None:
    with ApiframeClient.sandbox() as client:
        result = generate(client, REQUEST, output_dir=tmp_path / "out")
    assert isinstance(result, MusicResult) and result.path.exists()
    assert result.sandbox and result.measurements is not None


def test_run_batch_submit_and_resume_with_the_blocking_client(tmp_path: Path) -> None:
    with ApiframeClient.sandbox() as client:
        batch = run_batch(client, expand(["one tune", "two tune"], lengths="5s"), output_dir=tmp_path,
                          measure=False)
        assert isinstance(batch, Batch) and len(batch.results) == 2
        job_id = submit(client, REQUEST, output_dir=tmp_path)
        assert isinstance(job_id, str)
        collected = resume(client, job_id, output_dir=tmp_path, measure=False)
    assert collected.job_id == job_id and collected.path.exists()


def test_the_async_forms_are_awaited(tmp_path: Path) -> None:
    async def main() -> MusicResult:
        async with AsyncApiframeClient.sandbox() as client:
            return await generate(client, REQUEST, output_dir=tmp_path, measure=False)

    assert asyncio.run(main()).path.exists()


def test_a_listening_test_takes_ledger_true_for_the_ledger_the_results_are_in(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger, ApiframeClient.sandbox() as client:
        batch = run_batch(client, expand(["harp", "drum"], lengths="5s"), output_dir=tmp_path,
                          ledger=ledger, measure=False)
    test = ListeningTest(batch, seed=1, ledger=True)
    run = test.listener("Ana")
    run.rate("A", 4)
    run.rate("B", 2)
    run.submit()
    assert test.ledger is not None and test.ledger.path == (tmp_path / "l.sqlite3").resolve()
    assert len(test.ledger.ratings()) == 2


def test_measure_fills_in_what_was_missing_without_the_extra(tmp_path: Path) -> None:
    with ApiframeClient.sandbox() as client:
        result = generate(client, REQUEST, output_dir=tmp_path, measure=False)
    without = Measurements(duration_s=5.0, loudness_lufs=-20.0, note=NEEDS_EXTRA)
    assert without.needs_extra
    result.tracks = tuple(dataclasses.replace(t, measurements=without) for t in result.tracks)
    result.measure()
    measured = result.measurements
    assert measured is not None and not measured.needs_extra
    assert measured.tempo_bpm is not None and measured.key is not None
