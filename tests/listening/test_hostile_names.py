"""A listening test whose prompts and listener names are hostile: the ratings CSV holds no cell a
spreadsheet would run as a formula and reads back as typed; the reveal escapes every name.
Real sandbox tracks over HTTP, made once for the module."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiframe_magic.client import ApiframeClient
from apiframe_magic.display import listen_reveal_html
from apiframe_magic.jobs import Batch, expand, run_batch
from apiframe_magic.listening import ListeningTest, read_ratings_csv
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY

PROMPTS = ("<img src=x onerror=alert(1)> piano", "=1+2 brass band", "-3 dB of dread, a drone")
LISTENERS = ('=HYPERLINK("https://evil.example","click")', "+1 Ana", "-Ben", "@Cleo",
             "'Eve, quoted")
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batch]:
    folder = tmp_path_factory.mktemp("hostile-listening")
    with SandboxServer(job_seconds=0.2) as server, ApiframeClient(CANARY_KEY, server.url) as client:
        done = run_batch(client, expand(list(PROMPTS), lengths="5s"), output_dir=folder, ledger=None,
                         measure=False)
    assert isinstance(done, Batch) and len(done.results) == len(PROMPTS)
    yield done


def test_the_ratings_csv_neutralises_formulas_and_reads_back_as_typed(batch: Batch, tmp_path: Path) -> None:
    test = ListeningTest(batch, seed=3)
    for name in LISTENERS:
        run = test.listener(name)
        for number, clip in enumerate(test.clips, start=1):
            run.rate(clip.name, number)
        run.submit()

    path = test.to_csv(tmp_path / "ratings.csv")

    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        for column in ("listener", "prompt", "test", "session", "job_id", "clip"):
            assert not row[column].startswith(TRIGGERS), (column, row[column])
        assert row["score"] in {"1", "2", "3"}  # numbers stay numbers
    assert {row["listener"] for row in rows} == {"'" + name for name in LISTENERS}
    assert {row["prompt"] for row in rows} == {PROMPTS[0], "'" + PROMPTS[1], "'" + PROMPTS[2]}
    assert read_ratings_csv(path) == test.judgements
    assert {r.listener for r in read_ratings_csv(path)} == set(LISTENERS)


def test_the_reveal_escapes_prompts(batch: Batch) -> None:
    test = ListeningTest(batch, seed=3)
    run = test.listener(LISTENERS[0])
    for clip in test.clips:
        run.rate(clip.name, 3)
    run.submit()

    markup = listen_reveal_html(test.reveal(), "<b>ratings</b>.csv")

    assert "<img" not in markup and "<b>ratings" not in markup
    assert "&lt;img src=x onerror=alert(1)&gt; piano" in markup
