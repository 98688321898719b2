"""The magic's text output in a terminal: ``%music models`` is a table with a header whose columns
line up, and a multi-track job's "measured:" line has every track indented under it. A real
shell against a real sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from apiframe_magic.catalog import MODELS
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from ..magic.test_magic import RaisingShell, music_shell, run


@pytest.fixture
def shell(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    with music_shell() as sh:
        sh.run_line_magic("config", "MusicMagics.progress = 'text'")
        yield sh


def test_models_text_has_a_header_and_aligned_columns(shell: RaisingShell) -> None:
    (bundle,) = [o.data for o in run(shell, "%music models").outputs]
    title, header, *rows = bundle["text/plain"].splitlines()

    assert title.startswith("Music models")
    assert header.split()[:3] == ["model", "tracks", "credits"]
    assert [row.split()[0] for row in rows] == list(MODELS)
    for column in ("tracks", "credits", "options"):  # every row's cell starts under its heading
        at = header.index(column)
        assert all(row[at - 1] == " " and row[at] != " " for row in rows), (column, rows)


def test_every_track_of_a_multi_track_job_is_indented_under_measured(shell: RaisingShell) -> None:
    captured = run(shell, "%%music --model suno\na dreamy synth-pop song\n")

    (text,) = [o.data["text/plain"] for o in captured.outputs
               if o.data.get("text/plain", "").startswith("measured:")]
    assert text.splitlines()[0] == "measured:"
    assert [line[:11] for line in text.splitlines()[1:]] == ["  track 1: ", "  track 2: "]
