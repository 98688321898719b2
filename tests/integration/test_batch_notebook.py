"""A 16-prompt cell in a real kernel (nbclient), against the embedded sandbox: every job saved,
the grid saved as static HTML with a player per job (and its measurements and pictures), no widget
state, and a size within budget."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from ..jupyter_harness import error_outputs, execute_notebook, isolated_env, write_notebook

pytestmark = pytest.mark.notebook

PROMPTS = [f"a {mood} tune number {n}" for n, mood in enumerate(
    ["calm", "happy", "dark", "bright"] * 4, start=1)]


def test_a_sixteen_prompt_cell_saves_a_static_grid_within_its_weight(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    source = write_notebook(tmp_path / "batch.ipynb", [
        "%load_ext apiframe_magic",
        "%%music --each-line --length 5s --out batch\n" + "\n".join(PROMPTS),
        "print(len(batch.results), len(batch.failed))",
    ])
    env = isolated_env(tmp_path / "env", job_seconds=1.0)
    nb = execute_notebook(source, workdir, env, timeout=300)
    assert error_outputs(nb) == []
    assert nb.cells[2].outputs[0]["text"].strip() == "16 0"

    grid_outputs = [o for o in nb.cells[1].outputs
                    if "apiframe-batch" in "".join(o.get("data", {}).get("text/html", ""))]
    assert len(grid_outputs) == 1, "one grid, updated in place"
    grid = "".join(grid_outputs[0]["data"]["text/html"])
    assert grid.count("<audio") == 16 and "16 of 16" in grid
    assert not nb.metadata.get("widgets"), "no widget state"
    audio = sorted((workdir / "apiframe_outputs").glob("*.mp3"))
    assert len(audio) == 16

    # Weight: the base64 of the embedded tracks, plus at most 2 KB per card, plus each track's
    # pictures (waveform SVG and spectrogram PNG), at most 4 KB per track, measured in the grid.
    pictures = re.findall(r"<div class='apiframe-pictures'.*?</div>", grid)
    assert len(pictures) == 16 and grid.count("apiframe-measurements") == 16
    assert max(len(p) for p in pictures) <= 4096, max(len(p) for p in pictures)
    embedded = sum(len(base64.b64encode(p.read_bytes())) for p in audio)
    cell_bytes = len(json.dumps(nb.cells[1].outputs))
    assert cell_bytes <= embedded + 2048 * 16 + sum(len(p) for p in pictures), (cell_bytes, embedded)
