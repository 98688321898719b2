"""Does the music follow the prompt? End to end against the sandbox, whose composer honours an
explicit tempo and key: the result, the batch's table and history() say so."""

from __future__ import annotations

from pathlib import Path

import pytest

from apiframe_magic import ApiframeClient, MusicRequest, expand, generate, history, run_batch
from apiframe_magic.ledger import Ledger


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_a_track_says_whether_it_has_the_tempo_key_and_length_asked(tmp_path: Path) -> None:
    with ApiframeClient.sandbox() as client:
        result = generate(client, MusicRequest("a piano waltz in A minor at 120 bpm", music_length_ms=15_000),
                          output_dir=tmp_path)
    checks = {c.aspect: c for c in result.adherence.checks}
    assert set(checks) == {"tempo", "key", "length"}
    assert checks["tempo"].asked == "120 bpm" and checks["tempo"].met, result.adherence.summary()
    assert checks["length"].met
    assert checks["key"].measured is not None
    assert result.adherence.score is not None and result.adherence.score >= 2 / 3


def test_the_batch_table_and_history_carry_the_asks_and_the_adherence(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite3"
    with Ledger.open(ledger_path) as ledger, ApiframeClient.sandbox() as client:
        batch = run_batch(client, expand(["lofi at 80 bpm", "calm piano"], lengths="10s"),
                          output_dir=tmp_path, ledger=ledger)
    rows = batch.rows()
    assert rows[0]["asked_bpm"] == 80.0 and rows[0]["asked_seconds"] == 10.0
    assert rows[0]["adherence"] is not None
    assert rows[1]["asked_bpm"] is None and rows[1]["adherence"] is not None  # the length was asked
    table = history(ledger=ledger_path)
    listed = table if isinstance(table, list) else table.to_dict("records")
    by_prompt = {r["prompt"]: r for r in listed}
    assert by_prompt["lofi at 80 bpm"]["asked_bpm"] == 80.0
    assert by_prompt["lofi at 80 bpm"]["adherence"] == rows[0]["adherence"]
