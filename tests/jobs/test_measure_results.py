"""Measurements of real sandbox tracks, end to end: through ``generate()`` and a batch over HTTP,
into the job ledger, ``history()`` and ``batch.to_dataframe()``; a ``%%music`` cell in a real
shell that shows them with the pictures; a result answered by the ledger that is not measured
again."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest
from IPython.utils.capture import capture_output

from apiframe_magic import MusicRequest, MusicResult, history
from apiframe_magic.analysis import Measurements
from apiframe_magic.client import AsyncApiframeClient
from apiframe_magic.jobs import expand, generate, run_batch
from apiframe_magic.ledger import MEASUREMENT_COLUMNS, Ledger
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from ..magic.test_magic import RaisingShell, shell  # noqa: F401  # the shell fixture, with its sandbox

FAST: dict[str, Any] = {"poll_interval": 0.05, "max_poll_interval": 0.2}


def make(
    sandbox: SandboxServer, ledger: Ledger | None, out: Path, prompt: str, **options: Any
) -> MusicResult:
    async def go() -> MusicResult:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
            return await generate(
                client, MusicRequest(prompt, music_length_ms=5_000), backend=sandbox.url,
                output_dir=out, ledger=ledger, **options,
            )

    return asyncio.run(go())


def plausible(measured: Measurements | None) -> Measurements:
    assert measured is not None and measured.note is None
    assert measured.duration_s == pytest.approx(5.0, abs=0.1) and measured.requested_s == 5.0
    assert measured.loudness_lufs is not None and -40 < measured.loudness_lufs < 0
    assert measured.peak_dbfs is not None and measured.peak_dbfs <= 0.0
    assert measured.clipped_samples is not None and measured.clipped_samples >= 0
    assert measured.tempo_bpm is not None and 40 < measured.tempo_bpm < 240
    assert measured.key is not None and measured.key.split()[1] in ("major", "minor")
    return measured


def test_generate_measures_the_track_and_the_ledger_keeps_it(sandbox: SandboxServer, tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        result = make(sandbox, ledger, tmp_path, "a calm piano piece")
        measured = plausible(result.measurements)
        record = ledger.get(result.job_id)
        assert record is not None and record.tracks[0].measurements == measured.as_dict()
    rows = history(ledger=tmp_path / "ledger.sqlite3", output_dir=tmp_path)
    first = rows.iloc[0].to_dict() if hasattr(rows, "iloc") else rows[0]
    assert {name: first[name] for name in MEASUREMENT_COLUMNS} == {
        name: measured.as_dict()[name] for name in MEASUREMENT_COLUMNS}


def test_a_result_answered_by_the_ledger_carries_what_it_stored(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        first = make(sandbox, ledger, tmp_path, "a marching band in the rain")
        assert first.measurements is not None
        # A value no measurement of this file gives: seeing it again proves nothing was re-measured.
        marked = {**first.measurements.as_dict(), "loudness_lufs": -99.0}
        ledger.measured(first.job_id, 0, marked)
        again = make(sandbox, ledger, tmp_path, "a marching band in the rain")
    assert again.from_ledger and again.job_id == first.job_id
    assert again.measurements == Measurements.from_dict(marked)


def test_measure_false_leaves_it_to_result_measure_which_records_it(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        result = make(sandbox, ledger, tmp_path, "a dark ambient drone", measure=False)
        assert result.measurements is None
        record = ledger.get(result.job_id)
        assert record is not None and record.tracks[0].measurements is None
    result.measure(extra=False)  # the ledger it was recorded in, by its path
    assert result.measurements is not None and result.measurements.tempo_bpm is None
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        record = ledger.get(result.job_id)
        assert record is not None and record.tracks[0].measurements == result.measurements.as_dict()


def test_a_batch_measures_every_job_into_its_table_and_plot(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    items = expand(["a calm piano piece", "an upbeat synthwave track"], lengths="5s")

    async def go() -> Any:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
            with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
                return await run_batch(client, items, backend=sandbox.url, output_dir=tmp_path, ledger=ledger)

    batch = asyncio.run(go())
    assert not batch.failed
    for result in batch:
        plausible(result.measurements)
    frame = batch.to_dataframe()
    rows = frame.to_dict("records") if hasattr(frame, "to_dict") else frame
    for row, result in zip(rows, batch, strict=True):
        assert result.measurements is not None
        assert {n: row[n] for n in MEASUREMENT_COLUMNS} == {
            n: result.measurements.as_dict()[n] for n in MEASUREMENT_COLUMNS}
    figure = batch.plot()
    assert len(figure.axes) >= 3 and figure._repr_png_()[:4] == b"\x89PNG"  # type: ignore[attr-defined, unused-ignore]
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        for result in batch:
            record = ledger.get(result.job_id)
            assert record is not None and record.tracks[0].measurements is not None


def shown(captured: Any) -> str:
    return "\n".join(str(o.data.get("text/html", "")) for o in captured.outputs)


def test_a_cell_shows_the_player_then_the_measurements_and_pictures(shell: RaisingShell) -> None:  # noqa: F811
    shell.run_line_magic("config", "MusicMagics.progress = 'widget'")
    with capture_output() as captured:
        shell.run_cell("%%music --length 5s --out track\na calm piano piece\n")
    track = shell.user_ns["track"]
    plausible(track.measurements)
    html = [str(o.data.get("text/html", "")) for o in captured.outputs]
    player = next(i for i, h in enumerate(html) if "<audio" in h)
    analysis = next(i for i, h in enumerate(html) if "apiframe-music-analysis" in h)
    assert player < analysis, "the player is shown before the track is measured"
    assert "<audio" not in html[analysis], "the player is never sent again"
    assert "LUFS" in html[analysis] and "data:image/svg+xml;base64," in html[analysis]
    assert "data:image/png;base64," in html[analysis]
    with Ledger.open(Path("apiframe_outputs") / ".apiframe-ledger.sqlite3") as ledger:
        record = ledger.get(track.job_id)
        assert record is not None and record.tracks[0].measurements == track.measurements.as_dict()

    # Run again: the ledger answers, with the measurements it stored, in the card itself.
    with capture_output() as again:
        shell.run_cell("%%music --length 5s --out track2\na calm piano piece\n")
    assert shell.user_ns["track2"].from_ledger
    assert shell.user_ns["track2"].measurements == track.measurements
    assert "apiframe-music-analysis" not in shown(again), "nothing measured again"
    assert "apiframe-measurements" in shown(again) and "apiframe-waveform" in shown(again)


def test_measure_off_skips_measurements_and_pictures(shell: RaisingShell) -> None:  # noqa: F811
    shell.run_line_magic("config", "MusicMagics.measure = False")
    with capture_output() as captured:
        shell.run_cell("%%music --length 5s --out track\na calm piano piece\n")
    assert shell.user_ns["track"].measurements is None
    assert "apiframe-measurements" not in shown(captured) and "<svg" not in shown(captured)


def test_a_finished_grid_card_shows_measurements_and_pictures(shell: RaisingShell) -> None:  # noqa: F811
    shell.run_line_magic("config", "MusicMagics.progress = 'widget'")
    with capture_output() as captured:
        shell.run_cell("%%music --each-line --length 5s --out batch\na calm piano\na bright march\n")
    batch = shell.user_ns["batch"]
    assert all(r.measurements is not None for r in batch)
    final = [str(o.data.get("text/html", "")) for o in captured.outputs if "apiframe-batch" in
             str(o.data.get("text/html", ""))][-1]
    assert final.count("apiframe-measurements") == 2 and final.count("apiframe-waveform") == 2
    assert final.count("data:image/png;base64,") == 2
    assert not math.isnan(batch.to_dataframe()["loudness_lufs"].iloc[0])
