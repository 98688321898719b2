"""A 16-prompt cell in a real kernel (nbclient), against the embedded sandbox: every job saved,
the grid's static copy saved with a player per job (and its measurements and pictures), each clip
stored once, and a size within budget, as nbclient saves a notebook by default (with the state of
every widget model it saw, closed or not)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from apiframe_magic.display._bench import bench_bar_html

from ..jupyter_harness import error_outputs, isolated_env, write_notebook

pytestmark = pytest.mark.notebook

PROMPTS = [f"a {mood} tune number {n}" for n, mood in enumerate(
    ["calm", "happy", "dark", "bright"] * 4, start=1)]


def execute_as_nbclient_saves(source: Path, workdir: Path, env: dict[str, str]) -> Any:
    """Execute with nbclient's defaults (widget state stored), write it back, return it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(source), as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    assert client.store_widget_state, "nbclient's default"
    client.execute(env=env)
    nbformat.write(nb, str(source))
    return nb


def test_a_sixteen_prompt_cell_saves_each_clip_once_within_its_weight(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    source = write_notebook(tmp_path / "batch.ipynb", [
        "%load_ext apiframe_magic",
        "%%music --each-line --length 5s --out batch\n" + "\n".join(PROMPTS),
        "print(len(batch.results), len(batch.failed))",
    ])
    env = isolated_env(tmp_path / "env", job_seconds=1.0)
    nb = execute_as_nbclient_saves(source, workdir, env)
    assert error_outputs(nb) == []
    assert nb.cells[2].outputs[0]["text"].strip() == "16 0"

    grid_outputs = [o for o in nb.cells[1].outputs
                    if "apiframe-batch" in "".join(o.get("data", {}).get("text/html", ""))]
    assert len(grid_outputs) == 1, "one static copy"
    grid = "".join(grid_outputs[0]["data"]["text/html"])
    assert grid.count("<audio") == 16 and "16 of 16" in grid
    audio = sorted((workdir / "apiframe_outputs").glob("*.mp3"))
    assert len(audio) == 16

    # Each clip once in the whole file: in the static copy, never in a widget's state.
    text = source.read_text(encoding="utf-8")
    clips = [base64.b64encode(p.read_bytes()).decode("ascii") for p in audio]
    assert [text.count(clip) for clip in clips] == [1] * 16
    state = json.dumps(nb.metadata.get("widgets", {}))
    assert "data:audio/" not in state and state.count("<audio") == 16, "the live players link their files"

    # Weight: the base64 of the embedded tracks, plus at most 2 KB per card, plus each track's
    # pictures (waveform SVG and spectrogram PNG), at most 4 KB per track, measured in the grid;
    # the whole file adds the live grid's widget state: at most 8 KB per card with its pictures.
    pictures = re.findall(r"<div class='apiframe-pictures'.*?</div>", grid)
    assert len(pictures) == 16 and grid.count("apiframe-measurements") == 16
    assert max(len(p) for p in pictures) <= 4096, max(len(p) for p in pictures)
    embedded = sum(len(clip) for clip in clips)
    cell_bytes = len(json.dumps(nb.cells[1].outputs))
    assert cell_bytes <= embedded + 2048 * 16 + sum(len(p) for p in pictures), (cell_bytes, embedded)
    print(f"\nfile {len(text)} bytes for {embedded} bytes of base64 audio; widget state {len(state)}")
    # The live grid is also the audition bench (display._bench): its bar and script once, and per
    # card the facts it sorts by, its button and the track wrappers, in the widget state.
    bench = len(json.dumps(bench_bar_html(["model"], [1]))) + 1024 * 16
    budget = embedded + 2048 * 16 + sum(len(p) for p in pictures) + 8192 * 16 + bench
    assert len(text) <= budget, (len(text), embedded)
